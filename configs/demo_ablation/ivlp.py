# IVLP on the demo world (= Table 1 "+ visual prompts"): text context and
# deep visual prompts, CE on the global scores only; the switches of
# ../_base_/models/ivlp_vit_b16.py.
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
