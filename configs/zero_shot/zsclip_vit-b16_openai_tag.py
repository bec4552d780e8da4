# Zero-shot CLIP ViT-B/16 with open_clip's pretrained tag 'openai': open_clip
# downloads the weights on first use (into its Hugging Face cache). Offline
# (no network or HF_HUB_OFFLINE=1) it stops at once with a message that
# says how to pass a local file instead (zsclip_vit-b16_openai.py).
_base_ = ['./zsclip_vit-b16_openai.py']

model = dict(
    clip=dict(model_name='ViT-B-16', pretrained='openai', quick_gelu=None))
