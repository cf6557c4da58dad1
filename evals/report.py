"""Turn a run into a console table, `<timestamp>.json`/`.md`, a PNG chart and a diff vs the last run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATEGORY_ORDER = ["stage1", "stage2", "stage3", "stage4", "headcount", "paraphrase", "followup", "intro", "closing",
                  "attribution", "false_premise", "injection", "out_of_scope", "near_miss", "feedback"]
CHART_SERIES = [("hit@3", "retrieval hit@3"), ("stage_accuracy", "stage accuracy"), ("behaviour", "behaviour"),
                ("key_points", "key-point recall"), ("faithfulness", "faithfulness")]


def fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


# --- files -------------------------------------------------------------------------------------------


def write(report: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stamp = report["meta"]["timestamp"]
    paths = {"json": out / f"{stamp}.json", "md": out / f"{stamp}.md", "png": out / f"{stamp}.png"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    try:
        chart(report, paths["png"])
    except Exception as exc:  # matplotlib missing or broken: the figures still count
        report["meta"]["chart_error"] = f"{type(exc).__name__}: {exc}"
        paths.pop("png")
    paths["md"].write_text(markdown(report), encoding="utf-8")
    return paths


def previous_report(out: Path, exclude: Path | None = None) -> dict[str, Any] | None:
    candidates = sorted(p for p in out.glob("*.json") if p != exclude)
    for p in reversed(candidates):
        try:
            return json.loads(p.read_text(encoding="utf-8")) | {"_path": str(p)}
        except (OSError, ValueError):
            continue
    return None


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = report["figures"]["by_category"]
    names = list(cats)
    x = np.arange(len(names))
    width = 0.8 / len(CHART_SERIES)
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.9), 4.2))
    for i, (key, label) in enumerate(CHART_SERIES):
        vals = [cats[n].get(key) for n in names]
        ax.bar(x + (i - len(CHART_SERIES) / 2 + 0.5) * width, [v if v is not None else 0 for v in vals], width, label=label)
    ax.set_xticks(x, [f"{n}\n(n={cats[n]['n']})" for n in names], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    meta = report["meta"]
    ax.set_title(f"CTO Coach eval {meta['timestamp']} · {meta['mode']} · {meta['embedder']}", fontsize=9)
    ax.legend(fontsize=7, ncol=len(CHART_SERIES), loc="lower center", bbox_to_anchor=(0.5, -0.32))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- diff ------------------------------------------------------------------------------------------


def flatten(node: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(node, int | float):  # bool included
        out[prefix] = float(node)
    return out


def diff(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Figures that moved (latency and timing only when they moved by more than 25%), and cases whose
    pass/fail status flipped."""
    before = {**flatten(previous.get("figures", {}), "figures"), **flatten(previous.get("checker", {}).get("test", {}), "checker")}
    after = {**flatten(current.get("figures", {}), "figures"), **flatten(current.get("checker", {}).get("test", {}), "checker")}
    moved = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            if key.endswith(".seconds"):
                continue
            moved.append({"figure": key, "before": a, "after": b})
            continue
        if abs(a - b) < 1e-9:
            continue
        noisy = "latency" in key or key.endswith("seconds")
        if noisy and abs(a - b) <= 0.25 * max(abs(a), abs(b)):
            continue
        moved.append({"figure": key, "before": a, "after": b})
    old_fail = set(previous.get("failures", {}))
    new_fail = set(current.get("failures", {}))
    old_ids = {c["id"] for c in previous.get("cases", [])}
    return {
        "against": previous.get("_path") or previous.get("meta", {}).get("timestamp"),
        "moved": moved,
        "newly_failing": sorted(new_fail - old_fail),
        "newly_passing": sorted((old_fail - new_fail) & {c["id"] for c in current.get("cases", [])}),
        "new_cases": sorted({c["id"] for c in current.get("cases", [])} - old_ids),
        "gates_changed": [
            {"name": g["name"], "before": pg["passed"], "after": g["passed"]}
            for g in current.get("gates", []) for pg in previous.get("gates", [])
            if pg["name"] == g["name"] and pg["passed"] != g["passed"]
        ],
    }


# --- text ------------------------------------------------------------------------------------------


def gates_table(report: dict[str, Any]) -> str:
    lines = ["GATES (evals/thresholds.toml)"]
    for g in report["gates"]:
        bound = f">= {g['min']}" if g["min"] is not None else f"<= {g['max']}"
        lines.append(f"  {'PASS' if g['passed'] else 'FAIL'}  {g['name']:<28} {fmt(g['value']):>7}  (gate {bound})")
    failed = sum(not g["passed"] for g in report["gates"])
    lines.append(f"  {len(report['gates']) - failed}/{len(report['gates'])} gates pass")
    return "\n".join(lines)


def _retrieval_row(name: str, f: dict[str, Any]) -> str:
    return (f"  {name:<32} {f.get('n', 0):>4} {fmt(f.get('hit@1')):>6} {fmt(f.get('hit@3')):>6} {fmt(f.get('hit@5')):>6} "
            f"{fmt(f.get('recall@5')):>6} {fmt(f.get('mrr')):>6} {fmt(f.get('ndcg@5')):>6}")


def console(report: dict[str, Any], report_diff: dict[str, Any] | None, paths: dict[str, Path]) -> str:
    from .checker_eval import table as checker_table

    m, f = report["meta"], report["figures"]
    out = [
        f"CTO Coach eval {m['timestamp']} · git {m['git']} · mode {m['mode']} · embedder {m['embedder']} · "
        f"retrieval {m['retrieval']} (top {m['top_k']}) · chunker {m['chunker']} · prompt {m['prompt_version'] or '—'} · "
        f"corpus {m['corpus_hash']} · {m['n_cases']} cases · {m['seconds']:.0f}s",
        "",
        gates_table(report),
        "",
        "RETRIEVAL (relevant = chunk contains a gold evidence string)",
        f"  {'':<32} {'n':>4} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'rec@5':>6} {'MRR':>6} {'nDCG5':>6}",
        _retrieval_row("overall", f["retrieval"]["overall"]),
    ]
    for lang, g in f["retrieval"]["by_lang"].items():
        out.append(_retrieval_row(f"lang={lang}", g))
    for cat, g in f["retrieval"]["by_category"].items():
        out.append(_retrieval_row(cat, g))
    st = f["stage"]
    out += ["", f"STAGE  accuracy {fmt(st['accuracy'])} (answerable only {fmt(st['accuracy_answerable'])}) · "
            f"macro-F1 {fmt(st['macro_f1'])} · within-one {fmt(st['within_one'])}",
            "  confusion matrix (rows = gold, columns = diagnosed)",
            f"  {'':<32} {'':>4}  " + "  ".join(f"{lab:>4}" for lab in st["labels"])]
    for lab, row in zip(st["labels"], st["confusion"], strict=True):
        out.append(f"  {'':<32} {lab:>4}  " + "  ".join(f"{v:>4}" for v in row))
    fa, ci, rf, kp, lat = f["faithfulness"], f["citations"], f["refusal"], f["key_points"], f["latency_ms"]
    out += [
        "",
        f"FAITHFULNESS  supported claims {fa['supported']}/{fa['claims']} = {fmt(fa['supported_share'])} · answers with an "
        f"unsupported sentence {fa['answers_with_unsupported']}/{fa['answers']} · checks fired {fa['fired'] or '{}'} · "
        f"uncited claims {fa['uncited_claims']}",
        f"CITATIONS  validity {fmt(ci['validity'])} (lenient: stage-pulled chunks count {fmt(ci['validity_lenient'])}) · "
        f"precision {fmt(ci['precision'])} · recall {fmt(ci['recall'])} · misattributions {ci['misattributions']} · "
        f"source/commentary mix-ups {ci['mixups']}",
        f"REFUSAL  recall {fmt(rf['recall'])} (n={rf['n_refuse']}; "
        + ", ".join(f"{k} {fmt(v, 2)}" for k, v in rf["recall_by_category"].items())
        + f") · false refusals {fmt(rf['false_refusal_rate'])} {rf['false_refusals'] or ''} · correction rate "
        f"{fmt(rf['correction_rate'])} · injection resistance {fmt(rf['injection_resistance'])} · leaks {len(rf['leaks'])} · "
        f"behaviour accuracy {fmt(rf['behaviour_accuracy'])}",
        f"KEY POINTS  recall {fmt(kp['recall'])} (all points present in {fmt(kp['full_recall_share'])} of {kp['n']} answers)"
        + "".join(f" · lang={lang} {fmt(g['recall'])} (n={g['n']})" for lang, g in kp.get("by_lang", {}).items()),
        "LATENCY (ms)  " + " · ".join(f"{k} {v:.1f}" for k, v in lat.items() if v is not None),
        "",
        "BY CATEGORY",
        f"  {'':<16} {'n':>3} {'hit@3':>6} {'MRR':>6} {'stage':>6} {'behav':>6} {'keypts':>6} {'faith':>6}",
    ]
    for cat, g in f["by_category"].items():
        out.append(f"  {cat:<16} {g['n']:>3} {fmt(g['hit@3'], 2):>6} {fmt(g['mrr'], 2):>6} {fmt(g['stage_accuracy'], 2):>6} "
                   f"{fmt(g['behaviour'], 2):>6} {fmt(g['key_points'], 2):>6} {fmt(g['faithfulness'], 2):>6}")
    if report.get("ablations"):
        out += ["", "ABLATIONS (retrieval only, cases with gold evidence)",
                f"  {'':<32} {'n':>4} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'rec@5':>6} {'MRR':>6} {'nDCG5':>6}"
                f"   {'ko hit@3/MRR':>13} {'en hit@3/MRR':>13}"]
        for name, a in report["ablations"].items():
            if a.get("error"):
                out.append(f"  {name:<32} unavailable: {a['error']}")
                continue
            ko, en = a["by_lang"].get("ko", {}), a["by_lang"].get("en", {})
            out.append(_retrieval_row(name, a["overall"])
                       + f"   {fmt(ko.get('hit@3'), 2):>6}/{fmt(ko.get('mrr'), 2):<6} {fmt(en.get('hit@3'), 2):>6}/{fmt(en.get('mrr'), 2):<6}")
    out += ["", checker_table(report["checker"])]
    if report.get("llm"):
        llm = report["llm"]
        if llm.get("error"):
            out += ["", f"LLM MODE {llm['model']}: error {llm['error']}"]
        else:
            out += ["", f"LLM MODE {llm['model']} (report only): faithfulness {fmt(llm['faithfulness']['supported_share'])} · "
                    f"citation validity {fmt(llm['citations']['validity'])} · refusal recall {fmt(llm['refusal']['recall'])} · "
                    f"false refusals {fmt(llm['refusal']['false_refusal_rate'])} · key points {fmt(llm['key_points']['recall'])} · "
                    f"latency p50/p95 {fmt(llm['latency_ms']['wall_p50'], 0)}/{fmt(llm['latency_ms']['wall_p95'], 0)} ms"]
    if report.get("judge"):
        j = report["judge"]
        out += ["", f"LLM JUDGE {j['model']} (report only): "
                + (f"error {j['error']}" if j.get("error") else
                   f"graded {j['graded']}/{j['n']} · grader errors {j['grader_errors']} · supported {fmt(j['supported_share'])} · "
                   f"agreement with the offline checker {fmt(j['agreement_with_checker'])}")]
    fails = report["failures"]
    out += ["", f"FAILING CASES ({len(fails)} of {report['meta']['n_cases']})"]
    for cid, reasons in fails.items():
        out.append(f"  {cid}")
        out.extend(f"      - {r}" for r in reasons)
    if report_diff is not None:
        out += ["", f"DIFF vs {report_diff['against']}"]
        moved = report_diff["moved"]
        headline = [mv for mv in moved if not any(x in mv["figure"] for x in ("by_category", "by_lang", "lang_", "per_type",
                                                                              "false_alarm", "confusion"))]
        for mv in headline[:30]:
            out.append(f"  {mv['figure']}: {fmt(mv['before'])} → {fmt(mv['after'])}")
        rest = len(moved) - min(len(headline), 30)
        if rest > 0:
            out.append(f"  … and {rest} more per-slice figure(s) (see \"diff\" in the JSON report)")
        if not moved:
            out.append("  no figure moved")
        for key in ("newly_failing", "newly_passing", "new_cases"):
            if report_diff[key]:
                out.append(f"  {key.replace('_', ' ')}: {', '.join(report_diff[key])}")
        for g in report_diff["gates_changed"]:
            out.append(f"  gate {g['name']}: {'pass' if g['before'] else 'fail'} → {'pass' if g['after'] else 'fail'}")
    out += ["", "reports: " + ", ".join(str(p) for p in paths.values()), "", gates_table(report)]
    return "\n".join(out)


def markdown(report: dict[str, Any]) -> str:
    m, f = report["meta"], report["figures"]
    lines = [
        f"# CTO Coach eval {m['timestamp']}",
        "",
        f"git `{m['git']}` · mode `{m['mode']}` · embedder `{m['embedder']}` · retrieval `{m['retrieval']}` · "
        f"chunker `{m['chunker']}` · prompt `{m['prompt_version']}` · corpus `{m['corpus_hash']}` · "
        f"verifier thresholds `{m['verifier_thresholds']}` · {m['n_cases']} cases · {m['seconds']:.0f} s",
        "",
        "## Gates",
        "",
        "| gate | value | bound | result |",
        "|---|---|---|---|",
    ]
    for g in report["gates"]:
        bound = f"≥ {g['min']}" if g["min"] is not None else f"≤ {g['max']}"
        lines.append(f"| {g['name']} | {fmt(g['value'])} | {bound} | {'PASS' if g['passed'] else '**FAIL**'} |")
    lines += ["", "## Retrieval", "", "| slice | n | hit@1 | hit@3 | hit@5 | recall@5 | MRR | nDCG@5 |", "|---|---|---|---|---|---|---|---|"]
    rows = [("overall", f["retrieval"]["overall"])] + [(f"lang={k}", v) for k, v in f["retrieval"]["by_lang"].items()] + list(
        f["retrieval"]["by_category"].items())
    for name, r in rows:
        lines.append(f"| {name} | {r['n']} | {fmt(r['hit@1'])} | {fmt(r['hit@3'])} | {fmt(r['hit@5'])} | {fmt(r['recall@5'])} | "
                     f"{fmt(r['mrr'])} | {fmt(r['ndcg@5'])} |")
    st = f["stage"]
    lines += ["", "## Stage diagnosis", "",
              f"accuracy {fmt(st['accuracy'])} · macro-F1 {fmt(st['macro_f1'])} · within-one {fmt(st['within_one'])}", "",
              "| gold \\ diagnosed | " + " | ".join(st["labels"]) + " |", "|---" * (len(st["labels"]) + 1) + "|"]
    for lab, row in zip(st["labels"], st["confusion"], strict=True):
        lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    fa, ci, rf, kp, lat = f["faithfulness"], f["citations"], f["refusal"], f["key_points"], f["latency_ms"]
    lines += [
        "", "## Answers", "",
        f"- faithfulness: {fa['supported']}/{fa['claims']} claim sentences supported ({fmt(fa['supported_share'])}); "
        f"answers with an unsupported sentence: {fa['answers_with_unsupported']}; checks fired: {fa['fired']}",
        f"- citations: validity {fmt(ci['validity'])} (lenient {fmt(ci['validity_lenient'])}), precision {fmt(ci['precision'])}, "
        f"recall {fmt(ci['recall'])}, misattributions {ci['misattributions']}, source/commentary mix-ups {ci['mixups']}",
        f"- refusal: recall {fmt(rf['recall'])}, false refusals {fmt(rf['false_refusal_rate'])}, correction rate "
        f"{fmt(rf['correction_rate'])}, injection resistance {fmt(rf['injection_resistance'])}, leaks {len(rf['leaks'])}",
        f"- key-point recall {fmt(kp['recall'])}",
        f"- latency: p50 {fmt(lat['wall_p50'], 1)} ms, p95 {fmt(lat['wall_p95'], 1)} ms",
        "", "## By category", "", "| category | n | hit@3 | MRR | stage | behaviour | key points | faithfulness |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cat, g in f["by_category"].items():
        lines.append(f"| {cat} | {g['n']} | {fmt(g['hit@3'], 2)} | {fmt(g['mrr'], 2)} | {fmt(g['stage_accuracy'], 2)} | "
                     f"{fmt(g['behaviour'], 2)} | {fmt(g['key_points'], 2)} | {fmt(g['faithfulness'], 2)} |")
    if report.get("ablations"):
        lines += ["", "## Ablations (retrieval)", "", "| configuration | hit@3 | MRR | nDCG@5 | ko hit@3 | ko MRR | en hit@3 | en MRR |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, a in report["ablations"].items():
            if a.get("error"):
                lines.append(f"| {name} | unavailable: {a['error']} | | | | | | |")
                continue
            ko, en = a["by_lang"].get("ko", {}), a["by_lang"].get("en", {})
            lines.append(f"| {name} | {fmt(a['overall']['hit@3'])} | {fmt(a['overall']['mrr'])} | {fmt(a['overall']['ndcg@5'])} | "
                         f"{fmt(ko.get('hit@3'))} | {fmt(ko.get('mrr'))} | {fmt(en.get('hit@3'))} | {fmt(en.get('mrr'))} |")
    c = report["checker"]
    lines += ["", "## Faithfulness checker (test split; positive class = fabricated)", "",
              f"thresholds {c['thresholds']} fitted on the dev split only ({c['objective']}).", "",
              "| slice | P | R | F1 | cosine-only F1 | lexical-only F1 | hard-checks-only F1 |", "|---|---|---|---|---|---|---|"]
    b = c["baselines"]
    slices = [("overall", c["test"]["overall"], b["cosine_only"]["overall"], b["lexical_only"]["overall"], b["hard_checks_only"]["overall"])]
    for ty, s in c["test"]["per_type"].items():
        slices.append((f"{ty} (n={s['n']})", s, b["cosine_only"]["per_type"][ty], b["lexical_only"]["per_type"][ty],
                       b["hard_checks_only"]["per_type"][ty]))
    for name, s, co, lo, ho in slices:
        lines.append(f"| {name} | {fmt(s['precision'], 2)} | {fmt(s['recall'], 2)} | {fmt(s['f1'], 2)} | {fmt(co['f1'], 2)} | "
                     f"{fmt(lo['f1'], 2)} | {fmt(ho['f1'], 2)} |")
    lines += ["", "False alarms on supported sentences: "
              + ", ".join(f"{k} {fmt(v['rate'], 2)} (n={v['n']})" for k, v in c["test"]["false_alarm_by_type"].items())]
    if report.get("llm"):
        lines += ["", "## LLM mode (report only)", "", "```", json.dumps({k: v for k, v in report["llm"].items()
                                                                          if k in ("model", "error", "faithfulness", "citations", "refusal", "key_points", "latency_ms")},
                                                                         ensure_ascii=False, indent=1, default=str), "```"]
    if report.get("judge"):
        lines += ["", "## LLM judge (report only)", "", "```", json.dumps(report["judge"], ensure_ascii=False, indent=1), "```"]
    lines += ["", f"## Failing cases ({len(report['failures'])})", ""]
    for cid, reasons in report["failures"].items():
        lines.append(f"- **{cid}**")
        lines.extend(f"  - {r}" for r in reasons)
    if Path(f"{m['timestamp']}.png").name:
        lines += ["", f"![scores per category]({m['timestamp']}.png)"]
    return "\n".join(lines) + "\n"
