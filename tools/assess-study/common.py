"""Shared data loading and the current model's feature extractor (port of src/assess/linear.rs)."""
import json, re, random
import numpy as np

import os
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'data', 'default', 'recommendations.jsonl')

def load():
    out = []
    for l in open(DATA):
        r = json.loads(l)
        v = r.get('action_category')
        if v is None or not (1 <= v <= 5) or not (1 <= r['session'] <= 20):
            continue
        out.append(r)
    return out

def split(recs, fit, test):
    a = [r for r in recs if fit[0] <= r['session'] <= fit[1]]
    b = [r for r in recs if test[0] <= r['session'] <= test[1]]
    return a, b

_tok = re.compile(r'[^\W_]+', re.UNICODE)   # Rust: split on !is_alphanumeric
def raw_tokens(text):
    return [t for t in re.split(r'[^0-9A-Za-z\u00C0-\uFFFF]+', text) if t]
def words(text):
    return [t.lower() for t in raw_tokens(text)]

def band(n):
    return {0: '0', 1: '1', 2: '2', 3: '3-4', 4: '3-4'}.get(n, '5+')

def features_of(text, prefixes=True, conjunctions=True, shape=True):
    w = words(text)
    out = ['bias']
    if prefixes:
        for k in range(1, min(3, len(w)) + 1):
            out.append('p%d:%s' % (k, ' '.join(w[:k])))
    if conjunctions and w:
        for x in w[1:]:
            out.append('c:%s+%s' % (w[0], x))
    if shape:
        toks = raw_tokens(text)
        if any(any(c.isdigit() for c in t) for t in toks): out.append('s:number')
        if any(len(t) == 4 and t[:2] in ('19', '20') and t.isdigit() for t in toks): out.append('s:year')
        if '%' in text or 'per cent' in text or 'percent' in text: out.append('s:percent')
        cap = sum(1 for t in toks[1:] if t[0].isupper())
        out.append('s:capitals=' + band(cap))
        n = len(w)
        out.append('s:words=' + ('1-6' if n <= 6 else '7-10' if n <= 10 else '11-15' if n <= 15 else '16-25' if n <= 25 else '26+'))
    for x in w: out.append('w:' + x)
    for a, b in zip(w, w[1:]): out.append('b:%s %s' % (a, b))
    return sorted(set(out))

def perceptron_fit(X, y, nlab=5, epochs=6, seed=1, keep=1.0):
    """Averaged multiclass perceptron over lists of feature ids. Returns dict feat->np.array(5)."""
    vocab = {}
    xs = [[vocab.setdefault(f, len(vocab)) for f in fs] for fs in X]
    W = np.zeros((len(vocab), nlab)); U = np.zeros((len(vocab), nlab))
    order = list(range(len(xs))); rng = random.Random(seed); step = 1.0
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            fs = xs[i]; s = W[fs].sum(0); p = int(np.argmax(s)); t = y[i]
            if p != t:
                W[fs, t] += 1; U[fs, t] += step
                W[fs, p] -= 1; U[fs, p] -= step
            step += 1
    A = np.round((W - U / step) * 1000) / 1000
    A[np.abs(A) < keep] = 0
    return vocab, A

def perceptron_scores(vocab, A, X):
    out = np.zeros((len(X), A.shape[1]))
    for i, fs in enumerate(X):
        ids = [vocab[f] for f in fs if f in vocab]
        if ids: out[i] = A[ids].sum(0)
    return out

def norm(text):
    return ' '.join(words(text))


def binary_matrix(F, vocab):
    """One row per feature list of F: 1 in the column of each of its features that vocab knows."""
    from scipy import sparse
    rows, cols = [], []
    for i, fs in enumerate(F):
        for f in set(fs):
            j = vocab.get(f)
            if j is not None: rows.append(i); cols.append(j)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(F), len(vocab)))
