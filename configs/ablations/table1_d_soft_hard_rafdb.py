# Table 1, row 4: + soft-hard prompt alignment L_t (Eqs. 1-4).
_base_ = ['../mpa_fer_rafdb.py']
model = dict(head=dict(local_weight=0.0))
