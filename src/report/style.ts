/**
 * The report's stylesheet (one inline <style>, allowed by its hash in the CSP).
 * Light and dark schemes via prefers-color-scheme; system fonts only. The token
 * surprisal palette (t0…t7) is sequential (pale → deep red) in light mode and
 * (dark → bright orange) in dark mode, so rarer tokens always stand out more;
 * text colour flips where the background gets dark, so every class keeps a WCAG AA
 * contrast ratio ≥ 4.5 in both schemes (checked in test/report/browser.test.ts).
 */
export const STYLE = `
:root{color-scheme:light dark;
--bg:#f6f7f9;--card:#fff;--fg:#1c2330;--fg2:#4f5b6d;--line:#dde2ea;--grid:#eceff4;--axis:#8a94a6;--link:#1f5fbf;
--s0:#2f6fd6;--s1:#e07b1a;--s2:#2a9d6f;--s3:#8e5bd8;--s4:#c2417a;--s5:#6b7a90;--accent:#d32f2f;--muted:#8a94a6;--focus:#1f5fbf;
--tip-bg:#1c2330;--tip-fg:#f6f7f9;
--t0:transparent;--t1:#fff4cc;--t2:#ffe08a;--t3:#ffc061;--t4:#fb9a4b;--t5:#ef6a3a;--t6:#d43d32;--t7:#9e1330;
--t0f:inherit;--t5f:#1c2330;--t6f:#fff;--t7f:#fff}
@media (prefers-color-scheme:dark){:root{
--bg:#0f131a;--card:#171c25;--fg:#e4e8ef;--fg2:#a3adbd;--line:#2a3240;--grid:#222a36;--axis:#6d788b;--link:#7fb0ff;
--s0:#6ea2ff;--s1:#ffa24d;--s2:#45c995;--s3:#b78cff;--s4:#ff7aae;--s5:#98a5b8;--accent:#ff6b6b;--muted:#6d788b;--focus:#7fb0ff;
--tip-bg:#e4e8ef;--tip-fg:#0f131a;
--t1:#2b2a1c;--t2:#4a3f14;--t3:#6b4b10;--t4:#8a4a0c;--t5:#b2450f;--t6:#e0531f;--t7:#ff5a3c;
--t5f:#fff;--t6f:#000;--t7f:#111}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
body{margin:0 auto;max-width:1080px;padding:24px 20px 64px}
header{margin-bottom:20px}
h1{font-size:26px;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:19px;margin:0 0 12px}
h3{font-size:15px;margin:18px 0 8px;color:var(--fg2);font-weight:600}
p{margin:6px 0}
.sub{color:var(--fg2);font-size:13.5px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.92em}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13.5px;margin-top:10px}
nav.toc a{color:var(--link);text-decoration:none}nav.toc a:hover{text-decoration:underline}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px;margin:4px 0 8px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .label{font-size:12.5px;color:var(--fg2)}
.card .value{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card .unit{font-size:12.5px;color:var(--fg2);margin-left:4px;font-weight:400}
.figs{display:flex;flex-wrap:wrap;gap:12px 24px}
figure{margin:8px 0;flex:1 1 440px;min-width:0}
figcaption{font-size:13px;color:var(--fg2);margin-top:4px;max-width:640px}
svg.chart{display:block;max-width:100%;height:auto;font-size:11.5px;overflow:visible}
svg.chart text{fill:var(--fg2)}
svg.chart .axis-label{fill:var(--fg);font-size:12px}
svg.chart .grid line{stroke:var(--grid);stroke-width:1}
svg.chart .axis path{stroke:var(--axis);fill:none}
.line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.line.dashed{stroke-dasharray:6 4}
.rule{fill:none;stroke-width:1.3;stroke-dasharray:3 3}
svg.chart .rule-label,svg.chart .note{font-size:11px}
.s0.line,.s0.rule,.err.s0 path{stroke:var(--s0)}.s0.pt,.s0.bar,.err.s0 circle{fill:var(--s0)}
.s1.line,.s1.rule,.err.s1 path{stroke:var(--s1)}.s1.pt,.s1.bar,.err.s1 circle{fill:var(--s1)}
.s2.line,.s2.rule,.err.s2 path{stroke:var(--s2)}.s2.pt,.s2.bar,.err.s2 circle{fill:var(--s2)}
.s3.line,.s3.rule,.err.s3 path{stroke:var(--s3)}.s3.pt,.s3.bar,.err.s3 circle{fill:var(--s3)}
.s4.line,.s4.rule,.err.s4 path{stroke:var(--s4)}.s4.pt,.s4.bar,.err.s4 circle{fill:var(--s4)}
.muted.line,.muted.rule,.err.muted path{stroke:var(--muted)}.muted.pt,.muted.bar{fill:var(--muted)}
.accent.line,.accent.rule,.err.accent path{stroke:var(--accent)}.accent.pt,.accent.bar,.err.accent circle{fill:var(--accent)}
svg.chart text.accent{fill:var(--accent)}
.err path{stroke-width:2;fill:none}
.pt{stroke:var(--card);stroke-width:1.2}
.bar.s0{fill-opacity:.85}
[data-tip]{cursor:default}
[data-tip]:focus{outline:none}
.pt:focus,.bar:focus,.err:focus circle{stroke:var(--focus);stroke-width:3}
svg.chart .tb0{fill:var(--t1)}svg.chart .tb1{fill:var(--t1)}svg.chart .tb2{fill:var(--t2)}svg.chart .tb3{fill:var(--t3)}svg.chart .tb4{fill:var(--t4)}svg.chart .tb5{fill:var(--t5)}svg.chart .tb6{fill:var(--t6)}svg.chart .tb7{fill:var(--t7)}
.bar[class*=" tb"]{stroke:var(--axis);stroke-width:.5}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:6px 0 0;font-size:13px;color:var(--fg2)}
ul.legend li{display:flex;align-items:center;gap:6px}
table{border-collapse:collapse;width:100%;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--fg2);font-weight:600;font-size:12.5px}
th.num{text-align:right}
td.num{text-align:right;white-space:nowrap}
tr.group td{background:var(--bg);font-weight:600;color:var(--fg)}
.wrap{overflow-x:auto}
.tokens .bar-row{display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;margin:8px 0;font-size:13px;color:var(--fg2)}
.tokens button{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:6px;padding:3px 10px;cursor:pointer}
.tokens button:disabled{opacity:.45;cursor:default}
.tokens input.page{width:5em;font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:6px;padding:2px 6px}
.tk-text{white-space:pre-wrap;overflow-wrap:anywhere;font-size:15.5px;line-height:2;border:1px solid var(--line);border-radius:8px;padding:12px 14px;max-height:560px;overflow-y:auto;background:var(--card)}
.tk{border-radius:3px;box-shadow:inset -1px 0 0 var(--line);padding:1px 0}
.tk-text .gap{color:var(--fg2);font-size:12px;font-style:italic;white-space:nowrap;border:1px dashed var(--line);border-radius:4px;margin:0 4px;padding:0 4px}
.tk:focus{outline:2px solid var(--focus);outline-offset:1px}
.t0{background:var(--t0)}.t1{background:var(--t1)}.t2{background:var(--t2)}.t3{background:var(--t3)}.t4{background:var(--t4)}
.t5{background:var(--t5);color:var(--t5f)}.t6{background:var(--t6);color:var(--t6f)}.t7{background:var(--t7);color:var(--t7f)}
.scale{display:flex;flex-wrap:wrap;gap:0;margin:8px 0;font-size:12px;border:1px solid var(--line);border-radius:6px;overflow:hidden;width:max-content;max-width:100%}
.scale span{padding:2px 9px;font-variant-numeric:tabular-nums}
#tip{position:absolute;z-index:10;max-width:420px;background:var(--tip-bg);color:var(--tip-fg);border-radius:7px;padding:7px 10px;font-size:12.5px;line-height:1.45;pointer-events:none;box-shadow:0 4px 16px rgba(0,0,0,.25);white-space:pre-wrap;overflow-wrap:anywhere}
#tip .k{display:inline-block;min-width:88px;opacity:.75}
#tip .v{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.lines{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px 12px;overflow-x:auto;margin:8px 0 0}
.note-box{font-size:13px;color:var(--fg2);border-left:3px solid var(--line);padding:4px 10px;margin:8px 0}
footer{font-size:12.5px;color:var(--fg2);margin-top:24px}
@media print{#tip{display:none}.tk-text{max-height:none}}
`;
