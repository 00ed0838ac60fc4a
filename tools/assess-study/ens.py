"""SVM + perceptron score ensemble and per-first-word errors, 13-15 only."""
import os; os.environ['OMP_NUM_THREADS']='1'
import numpy as np, collections
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from common import *
from feats4 import feats, mat, tr, te, ytr, yte, ftr, fte
A, B, v = mat(ftr, fte, True, True, 3)
m = LinearSVC(C=0.5).fit(A, ytr); s1 = m.decision_function(B)
vocab, W = perceptron_fit(ftr, list(ytr - 1)); s2 = perceptron_scores(vocab, W, fte)
s2n = s2 / np.abs(s2).max(1, keepdims=True).clip(1e-9)
for a in [0, 0.1, 0.25, 0.5]:
    print('svm + %.2f*perceptron(norm) %.4f' % (a, np.mean(np.argmax(s1 + a * s2n, 1) + 1 == yte)))
for C in [3, 10, 30]:
    print('LR C=%g on chosen feats %.4f' % (C, np.mean(LogisticRegression(C=C, max_iter=3000).fit(A, ytr).predict(B) == yte)))
p = m.predict(B); e = collections.Counter(); n = collections.Counter()
for r, q in zip(te, p):
    w = words(r['text'])[0]; n[w] += 1; e[w] += q != r['action_category']
print('errors by first word:', [(w, e[w], n[w]) for w, _ in e.most_common(12)], 'total', sum(e.values()))
