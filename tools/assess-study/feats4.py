"""Round 4: portability variants (no idf / no norm / min_df pruning), learning curve, in-distribution CV."""
import os, sys; os.environ['OMP_NUM_THREADS']='1'; os.environ['OPENBLAS_NUM_THREADS']='1'
import numpy as np
from sklearn.svm import LinearSVC
from sklearn.preprocessing import normalize
from common import *

def early(text, k=6, posk=5):
    w = words(text)
    return ['e:' + x for x in w[1:k]] + ['i%d:%s' % (i, w[i]) for i in range(1, min(posk, len(w)))]
def feats(r): return features_of(r['text']) + early(r['text'])

def mat(trf, tef, idf=True, nrm=True, min_df=1):
    from collections import Counter
    df = Counter(f for fs in trf for f in set(fs))
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= min_df))}
    mk = lambda F: binary_matrix(F, vocab)
    A, B = mk(trf), mk(tef)
    if idf:
        d = np.asarray(A.sum(0)).ravel(); w = np.log((1 + A.shape[0]) / (1 + d)) + 1
        A = A.multiply(w).tocsr(); B = B.multiply(w).tocsr()
    if nrm: A, B = normalize(A), normalize(B)
    return A, B, vocab

recs = load()
if __name__ != "__main__": pass
tr, te = split(recs, (1,12), (13,15))
ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])
ftr = [feats(r) for r in tr]; fte = [feats(r) for r in te]
if __name__ == '__main__':
    for idf, nrm, mdf in [(True, True, 1), (True, True, 2), (True, True, 3), (False, True, 1), (False, False, 1), (False, False, 2)]:
        A, B, v = mat(ftr, fte, idf, nrm, mdf); res = []
        Cs = (0.5, 1.0) if nrm else (0.01, 0.03, 0.1)
        for C in Cs:
            m = LinearSVC(C=C).fit(A, ytr); p = m.predict(B)
            res.append('C=%g %.4f nnz=%d' % (C, np.mean(p == yte), int((np.abs(m.coef_) >= 1e-3).sum())))
        print('idf=%s norm=%s min_df=%d feats=%d  %s' % (idf, nrm, mdf, len(v), ' | '.join(res)), flush=True)
    # learning curve (chosen recipe) on 13-15
    for hi in [4, 8, 12]:
        sub = [i for i, r in enumerate(tr) if r['session'] <= hi]
        A, B, _ = mat([ftr[i] for i in sub], fte, True, True, 2)
        p = LinearSVC(C=0.5).fit(A, ytr[sub]).predict(B)
        print('learning curve: fit 1-%d (%d recs) -> 13-15 %.4f' % (hi, len(sub), np.mean(p == yte)), flush=True)
    # in-distribution: random 5-fold CV within 1-12 (grouped by normalized text so duplicates don't leak)
    import random
    keys = sorted({norm(r['text']) for r in tr}); random.Random(0).shuffle(keys)
    fold = {k: i % 5 for i, k in enumerate(keys)}; f = np.array([fold[norm(r['text'])] for r in tr]); acc = []
    for k in range(5):
        a, b = np.where(f != k)[0], np.where(f == k)[0]
        A, B, _ = mat([ftr[i] for i in a], [ftr[i] for i in b], True, True, 2)
        acc.append(np.mean(LinearSVC(C=0.5).fit(A, ytr[a]).predict(B) == ytr[b]))
    print('random 5-fold CV within 1-12 (text-grouped): %.4f' % np.mean(acc))
