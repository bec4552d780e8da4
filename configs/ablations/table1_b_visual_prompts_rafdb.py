# Table 1, row 2: + deep visual prompts (N_p=8, every layer). Identical to
# IVLP.
_base_ = ['../mpa_fer_rafdb.py']
model = dict(head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
