# MPA-FER on CLIP ViT-L/14: the ViT-B/16 model with the larger CLIP. Widths
# come from the weights; N_p = 8 as for B/16 (docs/method.md). At 224 px
# the tower has 24 layers and 256 patches.
#
# CLIP weights (OpenAI ViT-L-14.pt or an open_clip state dict): at
# data/clip/ViT-L-14.pt, or the CLIP_L14 environment variable, or
#   --cfg-options model.clip.pretrained=/path/to/ViT-L-14.pt
# OpenAI weights use QuickGELU (quick_gelu=True); LAION/DataComp: False.
_base_ = ['./mpa_fer_vit_b16.py']

model = dict(
    clip=dict(model_name='ViT-L-14', pretrained='{{$CLIP_L14:data/clip/ViT-L-14.pt}}',
              quick_gelu=True))
