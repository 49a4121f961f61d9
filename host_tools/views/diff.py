"""What changed between two libraries, limit by limit (rows of librarydoc)."""


def diff(old_doc, new_doc):
    """-> {"identical": bool, "changes": [...], "header": [...]}.

    A change is {"kind": "added" | "removed" | "changed", "id", "section",
    "name", "old", "new", "enforcement", "cite"} with the citation of the
    new rule (the old one for a removed limit)."""
    old = {r["id"]: r for r in old_doc["rows"]}
    new = {r["id"]: r for r in new_doc["rows"]}
    changes = []
    order = [r["id"] for r in old_doc["rows"]] + [r["id"] for r in new_doc["rows"] if r["id"] not in old]
    for rid in order:
        a, b = old.get(rid), new.get(rid)
        if a is not None and b is not None and a["value"] == b["value"] and a["enforcement"] == b["enforcement"]:
            continue
        kind = "added" if a is None else "removed" if b is None else "changed"
        ref = b or a
        changes.append({"kind": kind, "id": rid, "section": ref["section"], "name": ref["name"],
                        "old": a["value"] if a else None, "new": b["value"] if b else None,
                        "old_enforcement": a["enforcement"] if a else None,
                        "new_enforcement": b["enforcement"] if b else None,
                        "cite": (b or {}).get("cite") or (a or {}).get("cite") or [],
                        "old_cite": (a or {}).get("cite") or [], "note": ref["note"]})
    header = []
    for key, label in (("name", "library name"), ("version", "version"), ("rules_sha256", "rules sha256"),
                       ("sha256", "file sha256"), ("bytes", "bytes")):
        if old_doc[key] != new_doc[key]:
            header.append({"name": label, "old": old_doc[key], "new": new_doc[key]})
    signers = lambda d: ["%s %s" % (s["role"], s["key_id"]) for s in d["signers"]]  # noqa: E731
    if signers(old_doc) != signers(new_doc):
        header.append({"name": "signatures", "old": ", ".join(signers(old_doc)) or "none",
                       "new": ", ".join(signers(new_doc)) or "none"})
    return {"identical": not changes and old_doc["sha256"] == new_doc["sha256"], "changes": changes,
            "header": header, "limits_identical": not changes}
