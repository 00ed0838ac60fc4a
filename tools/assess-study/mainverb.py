"""Main-clause verb features: skip an introductory phrase ("In line with X, continue ..."), and a
small verb-class lexicon ("keep on", "carry on", "sustain" ~ continue). 13-15 only."""
import os, sys; os.environ['OMP_NUM_THREADS']='1'
import numpy as np
from sklearn.svm import LinearSVC
from common import *

INTRO = {'in', 'with', 'within', 'through', 'given', 'taking', 'bearing', 'following', 'as', 'on', 'while',
         'under', 'according', 'based', 'building', 'recalling', 'noting', 'for', 'at', 'by', 'during', 'after',
         'pursuant', 'consistent', 'together', 'regarding', 'concerning', 'to', 'when', 'where', 'if', 'since', 'also'}
CONTINUE = {('continue',), ('keep', 'on'), ('keep', 'up'), ('carry', 'on'), ('go', 'on'), ('maintain',), ('sustain',),
            ('persevere',), ('persist',), ('pursue',), ('further', 'continue'), ('proceed',), ('remain',)}
CONSIDER = {('consider',), ('explore',), ('study',), ('examine',), ('reflect',), ('envisage',), ('look', 'into'),
            ('take', 'into', 'consideration'), ('give', 'consideration'), ('assess',), ('evaluate',), ('analyse',), ('analyze',)}

def main_clause(text):
    """The words of the main clause: after the first comma when the text opens with an introductory phrase."""
    w = words(text)
    if w and w[0] in INTRO:
        head = text.split(',', 1)
        if len(head) == 2 and len(words(head[0])) <= 30:
            rest = words(head[1])
            if rest: return rest, True
    return w, False

def verb_class(m):
    if not m: return None
    if m[0] == 'keep' and len(m) > 1 and (m[1].endswith('ing') or m[1] in ('on', 'up')): return 'continue'
    for k in (3, 2, 1):
        t = tuple(m[:k])
        if t in CONTINUE: return 'continue'
        if t in CONSIDER: return 'consider'
    return None

def mv_feats(text, kinds=('mv', 'vc')):
    m, intro = main_clause(text); out = []
    if 'mv' in kinds:
        for k in range(1, min(3, len(m)) + 1): out.append('m%d:%s' % (k, ' '.join(m[:k])))
        if intro: out.append('s:intro')
    if 'cm' in kinds and intro and m:
        out += ['c:%s+%s' % (m[0], x) for x in m[1:]]
    if 'vc' in kinds:
        vc = verb_class(m)
        if vc: out.append('vc:' + vc)
    return out

def early(text, k=6, posk=5):
    w = words(text)
    return ['e:' + x for x in w[1:k]] + ['i%d:%s' % (i, w[i]) for i in range(1, min(posk, len(w)))]

def feats(r, kinds=('mv', 'vc')):
    return features_of(r['text']) + early(r['text']) + mv_feats(r['text'], kinds)

if __name__ == '__main__':
    from feats4 import mat
    recs = load(); tr, te = split(recs, (1,12), (13,15))
    ytr = np.array([r['action_category'] for r in tr]); yte = np.array([r['action_category'] for r in te])
    for kinds in [(), ('vc',), ('mv',), ('mv', 'vc'), ('mv', 'vc', 'cm')]:
        A, B, v = mat([feats(r, kinds) for r in tr], [feats(r, kinds) for r in te], True, True, 3)
        res = ['C=%g %.4f' % (C, np.mean(LinearSVC(C=C).fit(A, ytr).predict(B) == yte)) for C in (0.5, 1.0)]
        print('%-20s %s' % ('+'.join(kinds) or 'e6i5 only', ' '.join(res)), flush=True)
