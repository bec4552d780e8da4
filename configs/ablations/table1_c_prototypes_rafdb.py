# Table 1, row 3: + prototype-guided visual alignment L_v (Eqs. 6-7).
_base_ = ['../mpa_fer_rafdb.py']
model = dict(head=dict(local_weight=0.0, loss_align=None))
