import os; os.environ['OMP_NUM_THREADS']='1'
import numpy as np, collections
from sklearn.svm import LinearSVC
from common import *
from feats4 import feats, mat, tr, te, ytr, yte, ftr, fte
A, B, v = mat(ftr, fte, True, True, 3)
p = LinearSVC(C=0.5).fit(A, ytr).predict(B)
for r, q in zip(te, p):
    w = words(r['text'])[0]
    if w in ('continue', 'keep', 'carry', 'in') and q != r['action_category']: print(r['action_category'], q, r['session'], r['text'][:130])
c = collections.Counter((r['session'], r['action_category']) for r in tr + te if words(r['text'])[0] == 'continue')
print(sorted(c.items()))
c = collections.Counter((r['session'], r['action_category']) for r in tr + te if words(r['text'])[0] == 'keep')
print(sorted(c.items()))
