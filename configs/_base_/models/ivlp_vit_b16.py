# Baseline: IVLP on CLIP ViT-B/16 - text context + deep visual prompts,
# CE on the global cosine scores only (no CGLA, no alignment losses).
_base_ = ['./mpa_fer_vit_b16.py']

model = dict(head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
