"""Candidate models, fit 1-12, measure 13-15 only."""
import os, sys, time, collections
os.environ['OMP_NUM_THREADS'] = '1'; os.environ['OPENBLAS_NUM_THREADS'] = '1'
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_extraction import FeatureHasher
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB
from common import *
recs = load()
tr, te = split(recs, (1,12), (13,15))
ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])

def vec_strings(trf, tef, binary=True, sublinear=False, idf=False):
    vocab = {}
    for fs in trf:
        for f in fs: vocab.setdefault(f, len(vocab))
    mk = lambda F: binary_matrix(F, vocab)
    A, B = mk(trf), mk(tef)
    if idf:
        df = np.asarray((A > 0).sum(0)).ravel(); w = np.log((1 + A.shape[0]) / (1 + df)) + 1
        A = A.multiply(w).tocsr(); B = B.multiply(w).tocsr()
    from sklearn.preprocessing import normalize
    return normalize(A), normalize(B), vocab

def run(name, clf, A, B):
    t = time.time(); clf.fit(A, ytr); p = clf.predict(B)
    print(f'{name:60s} {np.mean(p == yte):.4f}  ({time.time()-t:.0f}s)', flush=True)
    return clf, p

def extra(r, kinds):
    w = words(r['text']); out = []
    if 'rs' in kinds:
        out += ['rs:' + s for s in r['recommending_states']]
    if 'rsf' in kinds and w:
        out += ['rsf:%s+%s' % (s, w[0]) for s in r['recommending_states']]
    if 'sur' in kinds: out.append('sur:' + r['state_under_review'])
    if 'sess' in kinds: out.append('sess:%d' % r['session'])
    return out

which = sys.argv[1] if len(sys.argv) > 1 else 'all'
if which in ('all', 'tfidf'):
    for ng, mindf in [((1,2),1), ((1,3),1), ((1,3),2)]:
        v = TfidfVectorizer(ngram_range=ng, min_df=mindf, sublinear_tf=True, token_pattern=r'(?u)\b\w+\b')
        A = v.fit_transform([r['text'] for r in tr]); B = v.transform([r['text'] for r in te])
        for C in [0.3, 1.0]:
            run(f'tfidf word{ng} mindf{mindf} LinearSVC C={C}', LinearSVC(C=C), A, B)
        run(f'tfidf word{ng} mindf{mindf} LR C=10', LogisticRegression(C=10, max_iter=2000), A, B)
    run('ComplementNB word1-3', ComplementNB(alpha=0.3), v.fit_transform([r['text'] for r in tr]), v.transform([r['text'] for r in te]))
    vc = TfidfVectorizer(analyzer='char_wb', ngram_range=(2,5), min_df=2, sublinear_tf=True)
    Ac = vc.fit_transform([r['text'] for r in tr]); Bc = vc.transform([r['text'] for r in te])
    run('tfidf char_wb2-5 LinearSVC C=0.3', LinearSVC(C=0.3), Ac, Bc)
    v = TfidfVectorizer(ngram_range=(1,3), min_df=1, sublinear_tf=True, token_pattern=r'(?u)\b\w+\b')
    A = v.fit_transform([r['text'] for r in tr]); B = v.transform([r['text'] for r in te])
    from sklearn.preprocessing import normalize
    run('tfidf word1-3 + char2-5 LinearSVC C=0.3', LinearSVC(C=0.3), normalize(sparse.hstack([A, Ac]).tocsr()), normalize(sparse.hstack([B, Bc]).tocsr()))
if which in ('all', 'cur'):
    trf = [features_of(r['text']) for r in tr]; tef = [features_of(r['text']) for r in te]
    for idf in [False, True]:
        A, B, _ = vec_strings(trf, tef, idf=idf)
        for C in [0.1, 0.3, 1.0]:
            run(f'current feats idf={idf} LinearSVC C={C}', LinearSVC(C=C), A, B)
        run(f'current feats idf={idf} LR C=10', LogisticRegression(C=10, max_iter=3000), A, B)
if which in ('all', 'meta'):
    base = lambda r: features_of(r['text'])
    for kinds in [('rs',), ('sur',), ('sess',), ('rs','sur'), ('rs','rsf'), ('rs','sur','sess')]:
        trf = [base(r) + extra(r, kinds) for r in tr]; tef = [base(r) + extra(r, kinds) for r in te]
        A, B, _ = vec_strings(trf, tef)
        run(f'current + {kinds} LinearSVC C=0.3', LinearSVC(C=0.3), A, B)
        vocab, W = perceptron_fit(trf, list(ytr - 1))
        p = perceptron_scores(vocab, W, tef).argmax(1) + 1
        print(f'{"current + "+str(kinds)+" perceptron":60s} {np.mean(p == yte):.4f}', flush=True)
