# Checking a programming: strict JSON, exact decimals, request reading, the
# reason-code table and the checker (DESIGN.md, "Contract: checking a
# programming"; docs/check-contract.md).
