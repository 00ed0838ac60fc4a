"""In-distribution CV within 1-12 and weight-pruning sizes for the chosen recipe (13-15 only)."""
import os; os.environ['OMP_NUM_THREADS']='1'
import numpy as np, random
from sklearn.svm import LinearSVC
from common import *
from feats4 import feats, mat, tr, te, ytr, yte, ftr, fte
keys = sorted({norm(r['text']) for r in tr}); random.Random(0).shuffle(keys)
fold = {k: i % 5 for i, k in enumerate(keys)}; f = np.array([fold[norm(r['text'])] for r in tr]); acc = []
for k in range(5):
    a, b = np.where(f != k)[0], np.where(f == k)[0]
    A, B, _ = mat([ftr[i] for i in a], [ftr[i] for i in b], True, True, 3)
    acc.append(np.mean(LinearSVC(C=0.5).fit(A, ytr[a]).predict(B) == ytr[b]))
print('random 5-fold CV within 1-12 (text-grouped, unseen texts): %.4f' % np.mean(acc), ['%.4f' % x for x in acc])
A, B, v = mat(ftr, fte, True, True, 3)
m = LinearSVC(C=0.5).fit(A, ytr)
for t in [0, 0.01, 0.02, 0.05, 0.1]:
    W = m.coef_.copy(); W[np.abs(W) < t] = 0
    p = np.argmax(B @ W.T + m.intercept_, 1) + 1
    print('prune |w|<%g: nnz %d, features with a weight %d, acc %.4f' % (t, (W != 0).sum(), (W != 0).any(0).sum(), np.mean(p == yte)))
