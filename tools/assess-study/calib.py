import os; os.environ['OMP_NUM_THREADS']='1'
import numpy as np, random
from sklearn.svm import LinearSVC
from scipy.optimize import minimize_scalar
from common import *
from feats4 import mat
def feats(text):
    w = words(text)
    return sorted(set(features_of(text) + ['e:' + x for x in w[1:6]] + ['i%d:%s' % (i, w[i]) for i in range(1, min(5, len(w)))]))
recs = load()
def fitscore(trr, ter):
    A,B,_ = mat([feats(r['text']) for r in trr],[feats(r['text']) for r in ter],True,True,3)
    m = LinearSVC(C=0.5).fit(A, np.array([r['action_category'] for r in trr]))
    return B @ m.coef_.T + m.intercept_
def softmax(S, T):
    Z = S / T; Z = Z - Z.max(1, keepdims=True); E = np.exp(Z); return E / E.sum(1, keepdims=True)
def nll(S, y, T): P = softmax(S, T); return -np.mean(np.log(P[np.arange(len(y)), y - 1] + 1e-12))
def fitT(S, y): return minimize_scalar(lambda t: nll(S, y, t), bounds=(0.05, 5), method='bounded').x
def ece(S, y, T):
    P = softmax(S, T); c = P.max(1); ok = (P.argmax(1) + 1) == y; e = 0
    for b in range(10):
        i = (np.minimum((c * 10).astype(int), 9) == b)
        if i.any(): e += i.sum() / len(y) * abs(c[i].mean() - ok[i].mean())
    return e
def bands(S,y,T):
    P = softmax(S, T); c = P.max(1); ok = (P.argmax(1) + 1) == y; out=[]
    for b in range(3,10):
        i = (np.minimum((c * 10).astype(int), 9) == b)
        if i.any(): out.append('%.1f:%d %.3f/%.3f' % (b/10, i.sum(), c[i].mean(), ok[i].mean()))
    return ' '.join(out)
fit = [r for r in recs if r['session'] <= 12]; dev = [r for r in recs if 13 <= r['session'] <= 15]
ydev = np.array([r['action_category'] for r in dev])
Sdev = fitscore(fit, dev)
# A: current: temperature from a model on 1-9 scored on 10-12
a = [r for r in fit if r['session'] <= 9]; b = [r for r in fit if r['session'] >= 10]
TA = fitT(fitscore(a, b), np.array([r['action_category'] for r in b]))
# B: grouped 5-fold OOF within 1-12
keys = sorted({norm(r['text']) for r in fit}); random.Random(0).shuffle(keys)
fold = {k: i % 5 for i, k in enumerate(keys)}; f = np.array([fold[norm(r['text'])] for r in fit])
S = np.zeros((len(fit), 5)); yfit = np.array([r['action_category'] for r in fit])
for k in range(5):
    tr_ = [fit[i] for i in np.where(f != k)[0]]; te_ = [fit[i] for i in np.where(f == k)[0]]
    S[f == k] = fitscore(tr_, te_)
TB = fitT(S, yfit)
# C: session-grouped folds (leave 3 sessions out) within 1-12
g = np.array([(r['session'] - 1) // 3 for r in fit]); S2 = np.zeros_like(S)
for k in range(4):
    S2[g == k] = fitscore([fit[i] for i in np.where(g != k)[0]], [fit[i] for i in np.where(g == k)[0]])
TC = fitT(S2, yfit)
Tor = fitT(Sdev, ydev)
for name, T in [('A 1-9->10-12', TA), ('B 5fold text', TB), ('C session folds', TC), ('oracle on 13-15', Tor)]:
    print('%-16s T=%.4f  nll %.4f  ece %.4f | %s' % (name, T, nll(Sdev, ydev, T), ece(Sdev, ydev, T), bands(Sdev, ydev, T)), flush=True)
