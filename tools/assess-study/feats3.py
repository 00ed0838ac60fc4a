"""Round 3: early-window variants, recency weighting, loss variants; fit 1-12, measure 13-15."""
import os, sys; os.environ['OMP_NUM_THREADS']='1'; os.environ['OPENBLAS_NUM_THREADS']='1'
import numpy as np
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from common import *
from feats2 import extras, mat

def early(text, k, posk=0, eb=False):
    w = words(text); out = ['e:' + x for x in w[1:k]]
    if eb: out += ['eb:%s %s' % ab for ab in zip(w[1:k], w[2:k])]
    out += ['i%d:%s' % (i, w[i]) for i in range(1, min(posk, len(w)))]
    return out

recs = load(); tr, te = split(recs, (1,12), (13,15))
ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])
sess = np.array([r['session'] for r in tr])
base_tr = [features_of(r['text']) for r in tr]; base_te = [features_of(r['text']) for r in te]
def go(name, ftr, fte, Cs=(0.5, 1.0), sw=None, **kw):
    A, B, _ = mat(ftr, fte); res = []
    for C in Cs:
        p = LinearSVC(C=C, **kw).fit(A, ytr, sample_weight=sw).predict(B); res.append('C=%g %.4f' % (C, np.mean(p == yte)))
    print('%-40s %s' % (name, ' '.join(res)), flush=True)
for k in [4, 6, 8, 10]:
    go('e:%d' % k, [a + early(r['text'], k) for a, r in zip(base_tr, tr)], [a + early(r['text'], k) for a, r in zip(base_te, te)])
go('e:6 + eb', [a + early(r['text'], 6, eb=True) for a, r in zip(base_tr, tr)], [a + early(r['text'], 6, eb=True) for a, r in zip(base_te, te)])
go('e:6 + i<5', [a + early(r['text'], 6, posk=5) for a, r in zip(base_tr, tr)], [a + early(r['text'], 6, posk=5) for a, r in zip(base_te, te)])
ftr = [a + early(r['text'], 6) + extras(r['text'], ('vo','vol')) for a, r in zip(base_tr, tr)]
fte = [a + early(r['text'], 6) + extras(r['text'], ('vo','vol')) for a, r in zip(base_te, te)]
go('e:6 + vo+vol', ftr, fte)
ftr = [a + early(r['text'], 6) for a, r in zip(base_tr, tr)]; fte = [a + early(r['text'], 6) for a, r in zip(base_te, te)]
for g in [0.05, 0.1, 0.2]:
    go('e:6 recency w=exp(%g*(s-12))' % g, ftr, fte, sw=np.exp(g * (sess - 12)))
go('e:6 crammer_singer', ftr, fte, multi_class='crammer_singer')
go('e:6 balanced', ftr, fte, class_weight='balanced')
go('e:6 squared_hinge l1', ftr, fte, Cs=(0.5, 1, 2), penalty='l1')
