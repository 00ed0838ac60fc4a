"""Chosen recipe. `python3 final.py dev` = fit 1-12, measure 13-15; `python3 final.py test` = fit 1-15,
measure 16-20 (run once). Exports the table (action_svm_<mode>.tsv) and scores from the exported table
with a plain-Python scorer (the one a Rust port would mirror) to check it matches sklearn."""
import os, sys, time, math, collections
os.environ['OMP_NUM_THREADS'] = '1'
import numpy as np
from sklearn.svm import LinearSVC
from common import *
from feats4 import mat

MIN_DF, C, PRUNE = 3, 0.5, 0.05

def feats(text):
    """current features (p1-3, w, b, c, s) + e:<word> for words 2..6 + i<k>:<word> for positions 2..5."""
    w = words(text)
    return sorted(set(features_of(text) + ['e:' + x for x in w[1:6]] + ['i%d:%s' % (i, w[i]) for i in range(1, min(5, len(w)))]))

mode = sys.argv[1]
fit, test = ((1, 12), (13, 15)) if mode == 'dev' else ((1, 15), (16, 20))
recs = load(); tr, te = split(recs, fit, test)
ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])
ftr = [feats(r['text']) for r in tr]; fte = [feats(r['text']) for r in te]
A, B, vocab = mat(ftr, fte, True, True, MIN_DF)
m = LinearSVC(C=C).fit(A, ytr)
W = m.coef_.copy(); W[np.abs(W) < PRUNE] = 0
# export: feature, idf, 5 weights (idf folded in separately so the norm can be computed)
df = collections.Counter(f for fs in ftr for f in fs)
N = len(tr); names = sorted(vocab, key=vocab.get)
idf = {f: math.log((1 + N) / (1 + df[f])) + 1 for f in names}
with open('action_svm_%s.tsv' % mode, 'w') as out:
    out.write('#bias\t' + '\t'.join('%.6f' % b for b in m.intercept_) + '\n')
    for f in names:
        ws = W[:, vocab[f]]
        out.write('%s\t%.6f\t%s\n' % (f, idf[f], '\t'.join('%.6f' % x if x else '0' for x in ws)))
# plain scorer from the table
table = {f: (idf[f], W[:, vocab[f]]) for f in names}
def score(text):
    fs = [f for f in feats(text) if f in table]
    nrm = math.sqrt(sum(table[f][0] ** 2 for f in fs)) or 1.0
    contrib = [(f, table[f][0] * table[f][1] / nrm) for f in fs]
    s = m.intercept_ + sum((c for _, c in contrib), np.zeros(5))
    l = int(np.argmax(s))
    reasons = sorted(contrib, key=lambda x: -x[1][l])[:4]
    return l + 1, s, [(f, round(float(c[l]), 3)) for f, c in reasons]
t = time.time(); pred = np.array([score(r['text'])[0] for r in te]); dt = (time.time() - t) / len(te)
skl = np.argmax(B @ W.T + m.intercept_, 1) + 1
print(f'{mode}: fit {fit} ({N}) -> {test} ({len(te)}): agreement {np.mean(pred == yte):.4f} '
      f'(sklearn {np.mean(skl == yte):.4f}; table/sklearn identical {np.mean(skl == pred):.4f}); '
      f'{len(names)} features (idf entries), {int((W != 0).sum())} non-zero weights, '
      f'{int((W != 0).any(0).sum())} features with a weight; python scorer {dt*1e3:.3f} ms/text')
Cm = np.zeros((5, 5), int)
for a, b in zip(yte, pred): Cm[a - 1, b - 1] += 1
print('confusion rows=true 1..5, cols=pred 1..5:'); print(Cm)
print('per-category recall', np.round(np.diag(Cm) / Cm.sum(1), 3), 'precision', np.round(np.diag(Cm) / Cm.sum(0), 3))
print('example:', te[0]['text'][:80], score(te[0]['text'])[0], score(te[0]['text'])[2])
