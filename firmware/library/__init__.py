# Format v1 library: the container (header, digest, signature block) and the
# body records (docs/format.md).
