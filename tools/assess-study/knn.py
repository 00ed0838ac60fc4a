"""Near-duplicate memory on 13-15 (fit 1-12): coverage/accuracy by cosine threshold, vs a linear model on the same subset."""
import os; os.environ['OMP_NUM_THREADS']='1'; os.environ['OPENBLAS_NUM_THREADS']='1'
import numpy as np, collections
from sklearn.feature_extraction.text import TfidfVectorizer
from common import *
recs=load(); tr,te=split(recs,(1,12),(13,15))
ytr=np.array([r['action_category'] for r in tr]); yte=np.array([r['action_category'] for r in te])
v=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True,token_pattern=r'(?u)\b\w+\b')
A=v.fit_transform([r['text'] for r in tr]); B=v.transform([r['text'] for r in te])
S=(B@A.T).tocsr()
best=np.zeros(len(te)); lab=np.zeros(len(te),int)
for i in range(len(te)):
    row=S.getrow(i)
    if row.nnz: j=row.indices[row.data.argmax()]; best[i]=row.data.max(); lab[i]=ytr[j]
np.save('knn_best.npy',best); np.save('knn_lab.npy',lab)
base=np.load('baseline_pred_13_15.npy')+1
for th in [0.99,0.95,0.9,0.85,0.8,0.7,0.6,0.5]:
    m=best>=th
    print(f'cos>={th}: coverage {m.mean():.3f} ({m.sum()}), 1-NN acc {np.mean(lab[m]==yte[m]):.4f}, perceptron acc same subset {np.mean(base[m]==yte[m]):.4f}')
m=(best>=0.8)&(best<0.99)
print('near-dup (0.8<=cos<0.99) label agreement with nearest train text: %.4f over %d'%(np.mean(lab[m]==yte[m]),m.sum()))
