# Control of CGLA: the full MPA-FER with k random patches per image instead
# of the per-class top-k (Eq. 9), in training and test.
_base_ = ['../mpa_fer_demo.py']

model = dict(head=dict(patch_selection='random'))
