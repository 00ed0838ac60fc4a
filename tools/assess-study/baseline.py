import sys, collections, numpy as np
from common import *
recs = load()
fit, test = ((1,12),(13,15)) if len(sys.argv) < 2 else ((1,15),(16,20))
tr, te = split(recs, *([fit, test]))
Xtr = [features_of(r['text']) for r in tr]; ytr = [r['action_category']-1 for r in tr]
Xte = [features_of(r['text']) for r in te]; yte = np.array([r['action_category']-1 for r in te])
vocab, A = perceptron_fit(Xtr, ytr)
p = perceptron_scores(vocab, A, Xte).argmax(1)
print('perceptron', fit, test, 'acc %.4f' % (p == yte).mean(), 'nnz', int((A != 0).sum()), 'feats', int((A != 0).any(1).sum()))
np.save('baseline_pred_%d_%d.npy' % test, p)
