# Table 1 "+ soft-hard": IVLP plus L_v and the soft-hard prompt alignment
# L_t (Eq. 4). Adding CGLA (local_weight=1) gives ../mpa_fer_demo.py, the
# full MPA-FER (Table 1 "+ CGLA").
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(local_weight=0.0))
