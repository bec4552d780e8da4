# Control of CGLA: the full MPA-FER with k = N (the local score is the mean
# over all patches, no selection).
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(topk_patches='all'))
