"""benchmark.deploy: graph-break counting and the compiled logits."""
import torch

from mpa_fer_plugin.benchmark.deploy import compile_forward, graph_breaks


def test_graph_breaks_counts_an_item_call():
    def fn(x):
        y = x * 2
        scale = y.sum().item()  # a break without capture_scalar_outputs
        return y / scale

    res = graph_breaks(fn, torch.ones(3))
    assert res['graph_breaks'] >= 1 and res['graphs'] >= 2
    assert any('item' in r for r in res['reasons'])
    clean = graph_breaks(lambda x: torch.relu(x) + 1, torch.ones(3))
    assert clean == dict(graphs=1, graph_breaks=0, reasons=[])


def test_compile_forward_gives_the_eager_logits():
    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x, mode='tensor'):
            assert mode == 'tensor'
            return self.fc(x)

    model = Toy()
    x = torch.randn(2, 4)
    compiled = compile_forward(model, dict(backend='eager'))
    torch.testing.assert_close(compiled(x), model(x))
