"""Summaries: median and spread per metric, Ferry/HAProxy and Ferry/nginx ratios, Markdown + JSON."""
import json
import statistics

COMPARE = ("haproxy", "nginx")


def summarize(results):
    """results[key]['metrics'][metric] = {'unit','better','values':{target:[...]}} -> adds stats."""
    out = {}
    for key, sc in results.items():
        s = {"title": sc["title"], "notes": sc.get("notes", []), "metrics": {}}
        for metric, m in sc["metrics"].items():
            stats = {}
            for target, vals in m["values"].items():
                stats[target] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                                 "values": vals}
            ratios = {}
            if "ferry" in stats:
                for other in COMPARE:
                    if other in stats and stats[other]["median"]:
                        ratios["ferry/" + other] = stats["ferry"]["median"] / stats[other]["median"]
            s["metrics"][metric] = {"unit": m["unit"], "better": m["better"], "targets": stats,
                                    "ratios": ratios}
        out[key] = s
    return out


def _fmt(v):
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v


def _cell(st, rounds_shown):
    if st is None:
        return "–"
    if len(st["values"]) == 1 or not rounds_shown:
        return _fmt(st["median"])
    return "%s (%s–%s)" % (_fmt(st["median"]), _fmt(st["min"]), _fmt(st["max"]))


def _ratio(r, better):
    if r is None:
        return "–"
    good = (r >= 1) if better == "higher" else (r <= 1)
    return "%.2f%s" % (r, "" if good else " ⚠")


def markdown(summary, meta):
    lines = ["# Ferry benchmark %s" % meta["timestamp"], ""]
    lines.append("Command: `%s`  " % meta["command"])
    lines.append("Machine: %s, %d CPUs, load before the run %.2f; proxy on CPU %s, wrk/curl and the upstream "
                 "on CPU %s; %d worker(s) per proxy; %d round(s) of %d s, interleaved.  "
                 % (meta["cpu_model"], meta["cpus"], meta["load_before"], meta["proxy_cpus"],
                    meta["load_cpus"], meta["workers"], meta["rounds"], meta["secs"]))
    lines.append("Versions: " + "; ".join(meta["versions"].values()))
    lines.append("")
    lines.append("Cells: median (min–max over rounds). Ratios are Ferry's median over the other's; "
                 "⚠ marks a ratio where Ferry is worse.")
    lines.append("")
    for key, s in summary.items():
        targets = []
        for m in s["metrics"].values():
            for t in m["targets"]:
                if t not in targets:
                    targets.append(t)
        ratio_cols = [c for c in ("ferry/haproxy", "ferry/nginx")
                      if any(c in m["ratios"] for m in s["metrics"].values())]
        lines.append("## %s — %s" % (key, s["title"]))
        lines.append("")
        lines.append("| metric | unit | " + " | ".join(targets + ratio_cols) + " |")
        lines.append("|---|---|" + "---|" * (len(targets) + len(ratio_cols)))
        for metric, m in s["metrics"].items():
            cells = [_cell(m["targets"].get(t), True) for t in targets]
            cells += [_ratio(m["ratios"].get(c), m["better"]) for c in ratio_cols]
            lines.append("| %s | %s | %s |" % (metric, m["unit"], " | ".join(cells)))
        for n in s["notes"]:
            lines.append("")
            lines.append("Note: " + n)
        lines.append("")
    return "\n".join(lines)


def text_summary(summary):
    """A compact table for the terminal: the main metric medians and ratios per scenario."""
    rows = []
    for key, s in summary.items():
        for metric, m in s["metrics"].items():
            if metric in ("errors",) and all(st["max"] == 0 for st in m["targets"].values()):
                continue
            vals = "  ".join("%s=%s" % (t, _fmt(st["median"])) for t, st in m["targets"].items())
            rat = "  ".join("%s=%.2f" % (c, r) for c, r in m["ratios"].items())
            rows.append("%-12s %-34s %-6s %s%s" % (key, metric[:34], m["unit"], vals, ("   [" + rat + "]") if rat else ""))
    return "\n".join(rows)


def write_json(path, summary, meta):
    with open(path, "w") as f:
        json.dump({"meta": meta, "scenarios": summary}, f, indent=1)
