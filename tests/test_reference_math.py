"""Wanda, SparseGPT and GPTQ pinned to values worked out by hand or by a deliberately simple, independent
reference written here (float64, one column at a time, explicit inverses): not only shapes and sparsity.

The OBS reference follows the papers' definitions. Fixing column j to q (0 when pruned, its grid value when
quantized) moves the columns not yet fixed, F = {j, j+1, ...}, by the OBS update
    W[:, F] -= (W[:, j] - q) / [H_F^-1]_jj * [H_F^-1]_{j,F},      H_F^-1 = inverse of H restricted to F,
and SparseGPT's saliency of a weight in column c is w^2 / [H_F^-1]_cc with F = {c, c+1, ...}, chosen per
block of columns (adaptive mask selection) or per group of M columns (N:M). obs_sweep computes the same with
the Cholesky factor U of H^-1 (U_cc^2 = [H_F^-1]_cc) and lazy batch updates.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from bench.assets import LoadedModel
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationSet
from bench.methods.llm.obs import accumulate_hessian, obs_sweep
from bench.methods.llm.quant import QuantGrid
from bench.methods.llm.sparsity import accumulate_sq_norms
from bench.schema import Calibration, ModelInfo


def reference_wanda_mask(weight: Tensor, inputs: Tensor, sparsity: float) -> Tensor:
    """Keep mask: in each output row, drop the floor(sparsity * cols) lowest |W_ij| * ||X_j||_2."""
    norms = inputs.double().reshape(-1, inputs.shape[-1]).pow(2).sum(0).sqrt().tolist()
    keep = []
    for row in weight.double().tolist():
        scores = [abs(w) * n for w, n in zip(row, norms)]
        dropped = set(sorted(range(len(row)), key=scores.__getitem__)[: int(len(row) * sparsity)])
        keep.append([j not in dropped for j in range(len(row))])
    return torch.tensor(keep)


def minmax_grid(group: Tensor, bits: int, symmetric: bool) -> tuple[Tensor, Tensor]:
    """Scale and zero point per row: the row's range stretched to cover 0, split into 2^bits - 1 steps."""
    low, high = group.min(1).values.clamp(max=0), group.max(1).values.clamp(min=0)
    if symmetric:
        high = torch.maximum(-low, high)
        low = -high
    scale = (high - low) / (2**bits - 1)
    zero = torch.full_like(scale, 2 ** (bits - 1)) if symmetric else torch.round(-low / scale)
    return scale, zero


def to_grid(values: Tensor, scale: Tensor, zero: Tensor, bits: int) -> Tensor:
    return scale * (torch.clamp(torch.round(values / scale) + zero, 0, 2**bits - 1) - zero)


def reference_obs(weight: Tensor, hessian: Tensor, *, sparsity: float = 0.0, n_m: tuple[int, int] | None = None,
                  grid: QuantGrid | None = None, group_size: int | None = None, mask_block: int = 128,
                  damp: float = 0.01, act_order: bool = False, static_groups: bool = False) -> Tensor:
    """SparseGPT / GPTQ as defined in the papers: dead inputs zeroed, H dampened by `damp` x its mean
    diagonal, then one column at a time: choose the mask, round to the group's grid (fitted on the current
    weights when a group starts), fix the column, and spread its error over the rest by the OBS update.

    GPTQ's act-order (as its reference code defines it) solves the same problem with the columns, and H's
    rows and columns, permuted by decreasing H_jj, then puts the columns back; groups are then consecutive
    in that order, unless static groups fix every column's grid up front, fitted on the weight's own
    consecutive groups of columns."""
    w = weight.double().clone()
    h = hessian.double().clone()
    dead = h.diagonal() == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    cols = w.shape[1]
    own_grid = {}  # column -> (scale, zero) when groups are static
    if static_groups:
        for g in range(0, cols, group_size):
            fitted = minmax_grid(w[:, g : g + group_size], grid.bits, grid.symmetric)
            own_grid.update({j: fitted for j in range(g, min(g + group_size, cols))})
    order = sorted(range(cols), key=lambda j: -h[j, j].item()) if act_order else list(range(cols))
    w, h = w[:, order], h[order][:, order]
    h += damp * h.diagonal().mean() * torch.eye(len(h), dtype=h.dtype)
    remaining_inverse = [torch.linalg.inv(h[j:, j:]) for j in range(cols)]  # H_F^-1, F = {j, ...}

    def saliency(start: int, end: int) -> Tensor:
        diag = torch.tensor([remaining_inverse[c][0, 0] for c in range(start, end)], dtype=w.dtype)
        return w[:, start:end].pow(2) / diag

    pruned = torch.zeros_like(w, dtype=torch.bool)
    for j in range(cols):
        if n_m and j % n_m[1] == 0:
            lowest = saliency(j, j + n_m[1]).argsort(dim=1)[:, : n_m[1] - n_m[0]]
            pruned[:, j : j + n_m[1]].scatter_(1, lowest, True)
        elif sparsity and not n_m and j % mask_block == 0:
            window = saliency(j, min(j + mask_block, cols))
            flat = torch.zeros(window.numel(), dtype=torch.bool)
            flat[window.flatten().argsort()[: int(window.numel() * sparsity)]] = True
            pruned[:, j : j + window.shape[1]] = flat.view_as(window)
        if static_groups:
            scale, zero = own_grid[order[j]]
        elif grid is not None and (j == 0 or (group_size and j % group_size == 0)):
            scale, zero = minmax_grid(w[:, j : j + group_size] if group_size else w, grid.bits, grid.symmetric)
        q = torch.where(pruned[:, j], torch.zeros_like(w[:, j]), w[:, j])
        if grid is not None:
            q = to_grid(q, scale, zero, grid.bits)
        inverse = remaining_inverse[j]
        w[:, j:] -= torch.outer((w[:, j] - q) / inverse[0, 0], inverse[0])
        w[:, j] = q  # the update already moved it there, up to rounding
    return w[:, [order.index(j) for j in range(cols)]]


@pytest.fixture(scope="module")
def layer() -> tuple[Tensor, Tensor]:
    """A 4 x 8 weight and a Hessian of correlated inputs whose scales differ 100-fold (as in LLMs), so
    that |w|^2 and the OBS saliency choose different masks (in every SparseGPT case below, for this seed);
    input 5 is dead (always 0)."""
    g = torch.Generator().manual_seed(3)
    inputs = torch.randn(64, 8, generator=g) @ (torch.randn(8, 8, generator=g) * torch.logspace(-1, 1, 8)[:, None])
    inputs[:, 5] = 0
    hessian = torch.zeros(8, 8)
    accumulate_hessian(hessian, inputs)
    return torch.randn(4, 8, generator=g), hessian


# --- Wanda --------------------------------------------------------------------------------------------


# ||X_j||_2 = [4, 1, 2, 1] over two tokens. Scores |W_ij| * ||X_j||:
#   row 0: 0.75*4=3, 1*1=1, 2*2=4, 1.5*1=1.5 -> per row drop 1 and 1.5: keep columns 0, 2
#   row 1:    5*4=20, 7*1=7, 4*2=8,   9*1=9 -> per row drop 7 and 8:   keep columns 0, 3
# Per tensor the four lowest (1, 1.5, 3, 4) are all in row 0: row 0 would lose everything.
HAND_WEIGHT = torch.tensor([[0.75, 1.0, -2.0, 1.5], [5.0, -7.0, 4.0, 9.0]])
HAND_INPUTS = torch.tensor([[[4.0, 0.0, 0.0, 1.0], [0.0, -1.0, 2.0, 0.0]]])
HAND_KEEP = torch.tensor([[True, False, True, False], [True, False, False, True]])


def test_wanda_hand_example_prunes_within_each_row():
    sq_norms = torch.zeros(4)
    accumulate_sq_norms(sq_norms, HAND_INPUTS)
    pruned = make_method("wanda", {"sparsity": 0.5}).compress_weight(HAND_WEIGHT, sq_norms, 0, 1)
    assert torch.equal(pruned != 0, HAND_KEEP)
    assert torch.equal(pruned, HAND_WEIGHT * HAND_KEEP)
    assert torch.equal(reference_wanda_mask(HAND_WEIGHT, HAND_INPUTS, 0.5), HAND_KEEP)


class ToyBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.relu(self.proj(hidden))


class ToyModel(nn.Module):
    """Two blocks of one Linear each: the smallest model with repeated blocks that the methods walk."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([ToyBlock(width), ToyBlock(width)])

    def forward(self, hidden: Tensor) -> Tensor:
        for block in self.layers:
            hidden = block(hidden)
        return hidden


def compress_toy(method: str, params: dict[str, object], inputs: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """Each block's weight before compression and after, compressing through Method.compress."""
    torch.manual_seed(0)
    toy = ToyModel(inputs.shape[-1])
    before = [block.proj.weight.detach().clone() for block in toy.layers]
    info = ModelInfo(name="local/toy", source="test", kind="encoder", n_params=sum(w.numel() for w in before))
    record = Calibration(source="test", samples=len(inputs), seqlen=inputs.shape[1], seed=0, data_hash="-")
    calib = CalibrationSet(batches=list(inputs.split(1)), record=record, forward=toy)
    make_method(method, params).compress(LoadedModel(info=info, module=toy, tokenizer=None), calib)
    return before, [block.proj.weight.detach().clone() for block in toy.layers]


def block_inputs(inputs: Tensor, compressed: list[Tensor]) -> list[Tensor]:
    """What each block's Linear sees: the calibration inputs through the blocks compressed before it."""
    seen = [inputs]
    for weight in compressed[:-1]:
        seen.append(torch.relu(seen[-1] @ weight.T))
    return seen


def test_wanda_through_the_method_prunes_each_row_on_the_compressed_blocks_inputs():
    inputs = torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(1)) * torch.logspace(-1, 1, 8)
    before, after = compress_toy("wanda", {"sparsity": 0.5}, inputs)
    for weight, compressed, seen in zip(before, after, block_inputs(inputs, after)):
        keep = reference_wanda_mask(weight, seen, 0.5)
        # per tensor: the whole weight as one row, each input's norm repeated for every output row
        per_tensor = reference_wanda_mask(weight.reshape(1, -1), seen.repeat(1, 1, 8), 0.5).view_as(weight)
        assert not torch.equal(keep, per_tensor)  # the example tells the two comparison groups apart
        assert torch.equal(compressed, weight * keep)


# --- SparseGPT ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("weight,hessian,expected", [
    # Diagonal H = diag(1, 9), no dampening: nothing to compensate, saliency w^2 * H_jj = [4, 9].
    # |w| would drop the 1 (column 1); OBS drops the 2 (column 0).
    ([[2.0, 1.0]], [[1.0, 0.0], [0.0, 9.0]], [[0.0, 1.0]]),
    # H = [[2, 1], [1, 2]]: [H^-1]_00 = 2/3, so column 0's saliency is 1.1^2 * 3/2 = 1.815; column 1 comes
    # after column 0 is fixed, so its [H_F^-1]_11 = 1/H_11 = 1/2 and saliency 1^2 * 2 = 2: drop column 0
    # (|w| would drop column 1). Its error moves column 1 by 1.1 * H_01 / H_11 = 0.55, the least-squares
    # fit of w0 x0 + w1 x1 by x1 alone: 1 + 0.55 = 1.55.
    ([[1.1, 1.0]], [[2.0, 1.0], [1.0, 2.0]], [[0.0, 1.55]]),
])
def test_sparsegpt_hand_examples(weight, hessian, expected):
    pruned = obs_sweep(torch.tensor(weight), torch.tensor(hessian), sparsity=0.5, damp=0.0)
    assert torch.allclose(pruned, torch.tensor(expected), atol=1e-6)
    assert torch.allclose(reference_obs(torch.tensor(weight), torch.tensor(hessian), sparsity=0.5, damp=0.0),
                          torch.tensor(expected, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("block_size", [4, 8])
@pytest.mark.parametrize("sparsity,n_m", [(0.5, None), (0.75, None), (0.0, (2, 4)), (0.0, (1, 4))])
def test_sparsegpt_matches_the_column_by_column_reference(layer, block_size, sparsity, n_m):
    weight, hessian = layer
    pruned = obs_sweep(weight, hessian, sparsity=sparsity, n_m=n_m, block_size=block_size)
    expected = reference_obs(weight, hessian, sparsity=sparsity, n_m=n_m, mask_block=block_size)
    assert torch.equal(pruned == 0, expected == 0)
    assert torch.allclose(pruned.double(), expected, rtol=1e-4, atol=1e-5)


def test_sparsegpt_with_bits_matches_the_reference(layer):
    weight, hessian = layer
    grid = QuantGrid(4, symmetric=False)
    both = obs_sweep(weight, hessian, sparsity=0.5, grid=grid, group_size=4, block_size=4)
    expected = reference_obs(weight, hessian, sparsity=0.5, grid=grid, group_size=4, mask_block=4)
    assert torch.equal(both == 0, expected == 0)
    assert torch.allclose(both.double(), expected, rtol=1e-4, atol=1e-5)


# --- GPTQ ---------------------------------------------------------------------------------------------


def test_gptq_hand_example():
    # W = [0.8, 1.5], 2 bits, one group: range [0, 1.5], scale 0.5, grid {0, 0.5, 1, 1.5}.
    # Column 0 rounds to 1.0 (error 0.8 - 1.0 = -0.2); with H = [[4, 1.5], [1.5, 1]] the OBS update moves
    # column 1 by -0.2 * H_01 / H_11 = -0.3 to 1.2, which rounds to 1.0 (round to nearest would keep 1.5).
    # Output error e^T H e: [-0.2, 0.5] gives 0.11, below round to nearest's [-0.2, 0] 0.16.
    weight, hessian = torch.tensor([[0.8, 1.5]]), torch.tensor([[4.0, 1.5], [1.5, 1.0]])
    grid = QuantGrid(2, symmetric=False)
    assert torch.allclose(obs_sweep(weight, hessian, grid=grid, damp=0.0), torch.tensor([[1.0, 1.0]]), atol=1e-6)
    assert torch.allclose(reference_obs(weight, hessian, grid=grid, damp=0.0),
                          torch.tensor([[1.0, 1.0]], dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("bits,group_size,block_size,symmetric", [
    (3, None, 8, False), (3, None, 4, False), (3, 4, 4, False), (2, 4, 2, False), (4, 4, 4, True), (3, 8, 4, True),
])
def test_gptq_matches_the_column_by_column_reference(layer, bits, group_size, block_size, symmetric):
    weight, hessian = layer
    grid = QuantGrid(bits, symmetric)
    quantized = obs_sweep(weight, hessian, grid=grid, group_size=group_size, block_size=block_size)
    expected = reference_obs(weight, hessian, grid=grid, group_size=group_size)
    assert torch.allclose(quantized.double(), expected, rtol=1e-4, atol=1e-5)


# --- SparseGPT and GPTQ through the Method ------------------------------------------------------------


@pytest.mark.parametrize("method,params,reference", [
    ("sparsegpt", {"sparsity": 0.5}, {"sparsity": 0.5}),
    ("sparsegpt", {"pattern": "2:4"}, {"n_m": (2, 4)}),
    ("gptq", {"bits": 3, "group_size": 0}, {"grid": QuantGrid(3, False)}),
])
def test_obs_methods_compress_each_block_as_the_reference_does(method, params, reference):
    inputs = torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(2)) * torch.logspace(-1, 1, 8)
    before, after = compress_toy(method, params, inputs)
    for weight, compressed, seen in zip(before, after, block_inputs(inputs, after)):
        flat = seen.reshape(-1, 8).double()
        expected = reference_obs(weight, flat.T @ flat, **reference)
        assert torch.equal(compressed == 0, expected == 0)
        assert torch.allclose(compressed.double(), expected, rtol=1e-4, atol=1e-5)


# --- GPTQ act-order, static groups; dampening ----------------------------------------------------------


def test_gptq_act_order_hand_example():
    # The hand example above with its two columns swapped: W = [1.5, 0.8], H = [[1, 1.5], [1.5, 4]].
    # In their own order, 1.5 is on the grid (no error to spread) and 0.8 rounds to 1.0: [1.5, 1.0].
    # Act-order takes column 1 first (H_11 = 4 > H_00 = 1): the example above, whose answer [1.0, 1.0]
    # comes back in the columns' own order.
    weight, hessian = torch.tensor([[1.5, 0.8]]), torch.tensor([[1.0, 1.5], [1.5, 4.0]])
    grid = QuantGrid(2, symmetric=False)
    assert torch.allclose(obs_sweep(weight, hessian, grid=grid, damp=1e-9), torch.tensor([[1.5, 1.0]]), atol=1e-6)
    act = obs_sweep(weight, hessian, grid=grid, damp=1e-9, act_order=True)
    assert torch.allclose(act, torch.tensor([[1.0, 1.0]]), atol=1e-6)


def test_act_order_is_the_sweep_of_the_problem_permuted_by_the_hessian_diagonal(layer):
    weight, hessian = layer
    perm = torch.argsort(hessian.diagonal(), descending=True)
    assert not torch.equal(perm, torch.arange(8))
    grid = QuantGrid(3, symmetric=False)
    permuted = obs_sweep(weight[:, perm], hessian[perm][:, perm], grid=grid, group_size=4, block_size=4)
    act = obs_sweep(weight, hessian, grid=grid, group_size=4, block_size=4, act_order=True)
    assert torch.allclose(act, permuted[:, torch.argsort(perm)], atol=1e-6)


@pytest.mark.parametrize("bits,group_size,block_size,static_groups", [
    (3, None, 8, False), (3, 4, 4, False), (3, 4, 2, False), (2, 2, 2, False),  # groups start with a block
    (3, 4, 4, True), (3, 4, 2, True), (2, 2, 4, True),  # static grids are fitted up front: any block size
])
def test_gptq_act_order_matches_the_reference(layer, bits, group_size, block_size, static_groups):
    weight, hessian = layer
    grid = QuantGrid(bits, symmetric=False)
    options = dict(grid=grid, group_size=group_size, act_order=True, static_groups=static_groups)
    expected = reference_obs(weight, hessian, **options)
    assert torch.allclose(obs_sweep(weight, hessian, block_size=block_size, **options).double(), expected,
                          rtol=1e-4, atol=1e-5)
    natural = reference_obs(weight, hessian, grid=grid, group_size=group_size)
    assert not torch.allclose(expected, natural, atol=1e-3)  # the option changes this layer's answer


@pytest.mark.parametrize("block_size", [2, 4, 8])
def test_gptq_static_groups_without_act_order_match_the_reference(layer, block_size):
    """Grids fitted up front on the original weight's groups (the reference's static groups, llm-compressor's
    default), not on the weights the sweep has updated when each group starts."""
    weight, hessian = layer
    options = dict(grid=QuantGrid(3, symmetric=False), group_size=4, static_groups=True)
    expected = reference_obs(weight, hessian, **options)
    assert torch.allclose(obs_sweep(weight, hessian, block_size=block_size, **options).double(), expected,
                          rtol=1e-4, atol=1e-5)
    assert not torch.allclose(expected, reference_obs(weight, hessian, grid=options["grid"], group_size=4), atol=1e-3)


def test_static_groups_keep_each_column_on_its_own_groups_grid(layer):
    """Each column is rounded to the grid fitted up front on its own group of the original weight, though
    act-order processes it elsewhere; without static groups the grids follow the processing order."""
    weight, hessian = layer
    grid, size = QuantGrid(3, symmetric=False), 4

    def on_own_groups_grids(quantized: Tensor) -> bool:
        original = weight.clone()
        original[:, hessian.diagonal() == 0] = 0  # dead inputs are zeroed before any grid is fitted
        return all(torch.allclose(grid.round(quantized[:, g : g + size], *grid.fit(original[:, g : g + size])),
                                  quantized[:, g : g + size], atol=1e-6) for g in range(0, 8, size))

    assert on_own_groups_grids(obs_sweep(weight, hessian, grid=grid, group_size=size, act_order=True,
                                         static_groups=True))
    assert not on_own_groups_grids(obs_sweep(weight, hessian, grid=grid, group_size=size, act_order=True))


@pytest.mark.parametrize("damp", [0.1, 1.0])
@pytest.mark.parametrize("options", [{"sparsity": 0.5}, {"grid": QuantGrid(3, False), "group_size": 4}])
def test_dampening_matches_the_reference(layer, damp, options):
    weight, hessian = layer
    expected = reference_obs(weight, hessian, damp=damp, mask_block=4, **options)
    assert torch.allclose(obs_sweep(weight, hessian, damp=damp, block_size=4, **options).double(), expected,
                          rtol=1e-4, atol=1e-5)
    assert not torch.allclose(expected, reference_obs(weight, hessian, mask_block=4, **options), atol=1e-3)
