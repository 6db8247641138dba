"""Verify a campaign's draw from its exported record, with no database and
nothing of the platform but this package: anyone holding the record file
can check that the published list is the one the snapshot and the seed give.

    python -m services.enforcement.verify_draw RECORD.json [--json]

| exit | meaning |
| --- | --- |
| 0 | the re-run is identical and the digests match the recorded input |
| 1 | the list, the assignments or a digest differ, or the record says the digest was published after the seed was fixed (each difference is printed) |
| 2 | the record cannot be read or re-run (not JSON, a part missing, an unknown algorithm) |
"""
import argparse
import json
import sys

from .draw import DrawError, export_record, dumps_record, loads, verify  # noqa: F401 (the record's helpers, for whoever exports one)

IDENTICAL, DIFFERENT, UNREADABLE = 0, 1, 2
SHOWN = 10


def read_record(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _short(part, value):
    if value is None:
        return "—"
    if part == "targets" and isinstance(value, dict):
        return "%s %s%s key %s" % (value.get("enterprise_id"), value.get("town"),
                                   " 必查" if value.get("mandatory") else "",
                                   str(value.get("key"))[:16] + "…")
    if part == "assignments" and isinstance(value, dict):
        return "%s: %s" % (value.get("enterprise_id"), ", ".join(map(str, value.get(
            "inspectors") or ())))
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                          sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def passed(result):
    return (result["identical"] and result["digest_matches"]
            and result["committed_before_revealed"] is not False)


def describe(record, result):
    """The readable report: a Chinese headline, then the figures."""
    snapshot = record["snapshot"]
    ok = passed(result)
    lines = ["抽取结果核验：%s" % ("一致 ✓" if ok else "不一致 ✗"),
             "draw verification: %s" % ("identical, digests match" if ok else
                                         "DIFFERS — see below")]
    for key, label in (("campaign_name", "活动 campaign"), ("legal_basis", "依据 legal basis"),
                       ("seed_source", "种子来源 seed source"),
                       ("committed_at", "摘要公布 digest published"),
                       ("revealed_at", "种子确定 seed fixed")):
        if record.get(key):
            lines.append("  %s: %s" % (label, record[key]))
    mandatory = sum(1 for c in snapshot["candidates"] if c["mandatory"])
    recorded_targets = record["targets"] if isinstance(record["targets"], list) else []
    lines += [
        "  活动编号 campaign id: %s" % snapshot["campaign_id"],
        "  算法 algorithm: %s   权重规则 weights: %s" % (record["algorithm"],
                                                    snapshot["weights_version"]),
        "  种子 seed: %s" % record["seed"],
        "  快照摘要 snapshot digest: %s %s" % (
            record["snapshot_digest"], "(一致 matches)" if not any(
                d["part"] == "snapshot_digest" for d in result["differences"])
            else "(不一致: recomputed %s)" % next(d["recomputed"] for d in result["differences"]
                                                 if d["part"] == "snapshot_digest")),
        "  候选 candidates: %d（必查 mandatory %d），排除 excluded: %d"
        % (len(snapshot["candidates"]), mandatory, len(snapshot["exclusions"])),
        "  抽取对象 targets: recorded %d, recomputed %d of %d planned"
        % (len(recorded_targets), len(result["targets"]), snapshot["targets"]),
        "  各乡镇名额 quotas: %s" % "，".join("%s %d" % (town, quota) for town, quota
                                        in sorted(snapshot["quotas"].items())),
    ]
    if result["shortfall"]:
        lines.append("  名额不足 shortfall: %s" % "，".join(
            "%s %d" % item for item in sorted(result["shortfall"].items())))
    if result["assignments"] is not None:
        load = loads(result["assignments"])
        lines.append("  检查人员 inspectors: %d, %d per target, load %d–%d"
                     % (len(record["inspectors"]), record.get("per_target", 2),
                        min(load.values(), default=0), max(load.values(), default=0)))
    if result["committed_before_revealed"] is False:
        lines.append("  顺序错误 order: the digest was published after the seed was fixed")
    differences = [d for d in result["differences"] if d["part"] != "snapshot_digest"]
    if differences:
        lines.append("  差异 differences: %d" % len(differences))
        for difference in differences[:SHOWN]:
            where = difference["part"] + ("" if difference["position"] is None
                                          else "[%d]" % difference["position"])
            lines.append("    %s  recorded   %s" % (where, _short(difference["part"],
                                                               difference["recorded"])))
            lines.append("    %s  recomputed %s" % (" " * len(where), _short(
                difference["part"], difference["recomputed"])))
        if len(differences) > SHOWN:
            lines.append("    … %d more (--json shows them all)" % (len(differences) - SHOWN))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m services.enforcement.verify_draw",
        description="Re-run a campaign's draw from its record file and compare (no database).")
    parser.add_argument("record", help="the draw record (JSON) exported by the platform")
    parser.add_argument("--json", action="store_true",
                        help="print the verification result as JSON instead of text")
    args = parser.parse_args(argv)
    try:
        record = read_record(args.record)
        result = verify(record)
        text = describe(record, result)
    except (OSError, ValueError, KeyError, TypeError) as error:
        # json.JSONDecodeError and DrawError are ValueErrors; a KeyError or
        # TypeError is a record whose parts have the wrong shape
        print("无法读取抽取记录 cannot read the draw record %s: %s" % (args.record, error),
              file=sys.stderr)
        return UNREADABLE
    if args.json:
        print(json.dumps({key: result[key] for key in (
            "identical", "digest_matches", "committed_before_revealed", "differences",
            "shortfall")},
                         ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(text)
    return IDENTICAL if passed(result) else DIFFERENT


if __name__ == "__main__":
    sys.exit(main())
