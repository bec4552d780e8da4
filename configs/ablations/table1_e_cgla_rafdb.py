# Table 1, row 5: + cross-modal global-local alignment (Eqs. 8-11) = the
# full MPA-FER (configs/mpa_fer_rafdb.py).
_base_ = ['../mpa_fer_rafdb.py']
