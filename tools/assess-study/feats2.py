"""Feature variants on top of the current extractor, LinearSVC / perceptron; fit 1-12, measure 13-15."""
import os, sys; os.environ['OMP_NUM_THREADS']='1'; os.environ['OPENBLAS_NUM_THREADS']='1'
import numpy as np
from sklearn.svm import LinearSVC
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from common import *

STOP = {'to','in','on','for','of','with','by','including','and','that','which','as','so','through','at','from','against','into','within','under','while','where','when','who','its','their','the','a','an'}
DET = {'the','a','an','all','its','their','his','her','further','necessary','appropriate','more','additional','concrete','effective','specific','adequate','urgent','new','other','relevant','any','such'}
def lead_words(text):
    w = words(text)
    # skip common non-verb openers ("recommended that", "further", "fully", "step up") are kept as-is
    return w

def verb_phrase(w):
    """opening word + the words up to the first function word: 'adopt|all necessary measures'."""
    if not w: return None, []
    chunk = []
    for x in w[1:]:
        if x in STOP and chunk: break
        if x in STOP: continue
        chunk.append(x)
        if len(chunk) >= 4: break
    return w[0], chunk

def extras(text, kinds):
    w = words(text); out = []
    v, chunk = verb_phrase(w)
    if v is None: return out
    heads = [x for x in chunk if x not in DET]
    if 'vo' in kinds and heads: out.append('vo:%s+%s' % (v, heads[0]))
    if 'vol' in kinds and heads: out.append('vol:%s+%s' % (v, heads[-1]))
    if 'vp' in kinds: out.append('vp:%s|%s' % (v, ' '.join(chunk)))
    if 'c2' in kinds and len(w) > 2:   # second word x later words (for "take measures to amend")
        out += ['c2:%s %s+%s' % (w[0], w[1], x) for x in w[2:]]
    if 'pos' in kinds:  # words in the first 6 tokens, separately from later ones
        out += ['e:' + x for x in w[1:6]]
    if 'tri' in kinds:
        out += ['t:%s %s %s' % t for t in zip(w, w[1:], w[2:])]
    if 'cb' in kinds:   # opening word x later bigrams
        out += ['cb:%s+%s %s' % (w[0], a, b) for a, b in zip(w[1:], w[2:])]
    return out

def mat(trf, tef):
    vocab = {}
    for fs in trf:
        for f in fs: vocab.setdefault(f, len(vocab))
    mk = lambda F: binary_matrix(F, vocab)
    A, B = mk(trf), mk(tef)
    df = np.asarray(A.sum(0)).ravel(); idf = np.log((1 + A.shape[0]) / (1 + df)) + 1
    return normalize(A.multiply(idf).tocsr()), normalize(B.multiply(idf).tocsr()), vocab

if __name__ == '__main__':
    recs = load(); tr, te = split(recs, (1,12), (13,15))
    ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])
    basef_tr = [features_of(r['text']) for r in tr]; basef_te = [features_of(r['text']) for r in te]
    variants = [(), ('vo',), ('vo','vol'), ('vp',), ('c2',), ('pos',), ('tri',), ('cb',), ('vo','vol','vp','c2')]
    for kinds in variants:
        trf = [a + extras(r['text'], kinds) for a, r in zip(basef_tr, tr)]
        tef = [a + extras(r['text'], kinds) for a, r in zip(basef_te, te)]
        A, B, _ = mat(trf, tef)
        res = []
        for C in [0.5, 1.0, 2.0]:
            p = LinearSVC(C=C).fit(A, ytr).predict(B); res.append('C=%g %.4f' % (C, np.mean(p == yte)))
        vocab, W = perceptron_fit(trf, list(ytr - 1))
        p = perceptron_scores(vocab, W, tef).argmax(1) + 1
        print('%-32s svm-idf %s | perceptron %.4f' % ('+'.join(kinds) or 'current', ' '.join(res), np.mean(p == yte)), flush=True)
