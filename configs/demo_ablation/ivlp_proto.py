# Table 1 "+ prototypes": IVLP plus the prototype alignment L_v (Eq. 7).
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(local_weight=0.0, loss_align=None))
