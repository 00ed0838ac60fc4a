"""Label-noise evidence and exact-match memory coverage on 13-15 (fit 1-12)."""
import collections, numpy as np
from common import *
recs = load()
tr, te = split(recs, (1,12), (13,15))
def stats(rs, name):
    g = collections.defaultdict(list)
    for r in rs: g[norm(r['text'])].append(r['action_category'])
    dup = [v for v in g.values() if len(v) > 1]
    n = sum(len(v) for v in dup)
    maj = sum(collections.Counter(v).most_common(1)[0][1] for v in dup)
    incons = sum(1 for v in dup if len(set(v)) > 1)
    print(f'{name}: {len(rs)} recs, {len(g)} distinct texts; {len(dup)} texts repeated ({n} recs); '
          f'{incons} of those carry >1 label; majority-label agreement within repeats {maj/n:.4f}')
stats(tr, '1-12'); stats(te, '13-15'); stats(tr+te, '1-15')
g = collections.defaultdict(list)
for r in tr: g[norm(r['text'])].append(r['action_category'])
hit = [(collections.Counter(g[norm(r['text'])]).most_common(1)[0][0], r['action_category']) for r in te if norm(r['text']) in g]
print(f'exact memory on 13-15: coverage {len(hit)/len(te):.4f} ({len(hit)}), acc {np.mean([a==b for a,b in hit]):.4f}')
base = np.load('baseline_pred_13_15.npy')
y = np.array([r['action_category']-1 for r in te])
m = np.array([norm(r['text']) in g for r in te])
print('baseline acc on covered %.4f, uncovered %.4f' % ((base==y)[m].mean(), (base==y)[~m].mean()))
# confusion of baseline
C = np.zeros((5,5), int)
for a,b in zip(y, base): C[a,b]+=1
print('baseline confusion (rows true 1..5, cols pred):\n', C)
# first-word label purity: how deterministic is the opening word
fw = collections.defaultdict(collections.Counter)
for r in tr: fw[tuple(words(r['text'])[:1])][r['action_category']] += 1
print('first-word majority (train purity) %.4f' % (sum(c.most_common(1)[0][1] for c in fw.values())/len(tr)))
