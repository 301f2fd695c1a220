// A fake `pyNN` package for the PyNN export tests (PyNNExportTests.swift): `pyNN.spiNNaker` records
// every call of the generated script to $FAKE_PYNN_LOG and runs the network tick by tick as
// sPyNNaker would (see its docstring). Written into each test's sandbox.

enum FakePyNN {
    static let files: [String: String] = [
        "__init__.py": #"""
"""A fake PyNN for spinnprune's tests: pyNN.spiNNaker records every call and simulates the network."""
"""#,
        "space.py": #"""
class Grid2D(object):
    def __init__(self, aspect_ratio=1.0, dx=1.0, dy=1.0, x0=0.0, y0=0.0, z=0, fill_order="sequential"):
        self.aspect_ratio = float(aspect_ratio)

    def shape(self, n):
        # PyNN's Grid2D.calculate_size: nx = round(sqrt(n * aspect_ratio)), ny = n // nx; sPyNNaker's
        # atoms_shape is (width, height) = (nx, ny).
        nx = int(round((n * self.aspect_ratio) ** 0.5))
        ny = n // nx
        if nx * ny != n:
            raise ValueError("Grid2D: %d neurons do not fill a grid of aspect ratio %s" % (n, self.aspect_ratio))
        return nx, ny
"""#,
        "spiNNaker.py": #"""
"""Fake pyNN.spiNNaker: records the calls of a script to $FAKE_PYNN_LOG (JSON) at end(), and runs the
network as sPyNNaker would, tick by tick: delta synapses with one timestep of delay, non-leaky
integrate-and-fire neurons (V += input, fire when V >= v_thresh, then V = v_reset and refractory for
ceil(tau_refrac / dt) ticks, inputs dropped meanwhile), ConvolutionConnector as sPyNNaker's
local_only_conv_impl.c maps a pre neuron to its posts (the kernel applied rotated: a true
convolution), post shapes checked with sPyNNaker 7.4.1's rule, and all projections into a
Population of one kind (Convolution or not)."""
import json
import math
import os
from .space import Grid2D

_log = {"setup": None, "populations": [], "projections": [], "runs": [], "resets": 0, "sets": [], "records": [], "ended": False}
_state = {"dt": 1.0, "time": 0, "segment": 0}
_pops = []
_projs = []


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (int, float, str)) or v is None:
        return v
    return float(v)


def setup(timestep=1.0, **kw):
    _state["dt"] = float(timestep)
    _log["setup"] = {"timestep": timestep}


class _Cell(object):
    kind = None

    def __init__(self, **params):
        self.params = params


class IF_curr_delta(_Cell):
    kind = "IF_curr_delta"


class IF_curr_exp(_Cell):
    kind = "IF_curr_exp"


class SpikeSourceArray(_Cell):
    kind = "SpikeSourceArray"


class _Extra(object):
    class IFTruncDelta(_Cell):
        kind = "IFTruncDelta"


extra_models = _Extra()


class StaticSynapse(object):
    kind = "StaticSynapse"

    def __init__(self, weight=0.0, delay=None):
        self.weight, self.delay = weight, delay


class Convolution(object):
    kind = "Convolution"


class FromListConnector(object):
    kind = "FromListConnector"

    def __init__(self, conn_list, safe=True, column_names=None):
        self.conn_list = [tuple(r) for r in conn_list]


class ConvolutionConnector(object):
    kind = "ConvolutionConnector"

    def __init__(self, kernel_weights, kernel_shape=None, strides=None, padding=None, pool_shape=None,
                 pool_stride=None, positive_receptor_type="excitatory", negative_receptor_type="inhibitory"):
        self.kernel_weights = [[float(w) for w in row] for row in kernel_weights]
        self.strides = (1, 1) if strides is None else (tuple(strides) if isinstance(strides, (list, tuple)) else (strides, strides))
        self.padding = (0, 0) if padding is None else (tuple(padding) if isinstance(padding, (list, tuple)) else (padding, padding))
        if pool_shape is not None:
            raise NotImplementedError("pooling inside the connector")

    def get_post_shape(self, shape):
        # sPyNNaker 7.4.1: ((n // pool_stride) - (k - 1) + 2 pad) // stride, per axis (rows, cols).
        kh, kw = len(self.kernel_weights), len(self.kernel_weights[0])
        return tuple((n - (k - 1) + 2 * p) // s for n, k, p, s in zip(shape, (kh, kw), self.padding, self.strides))


class _SpikeTrain(list):
    def __init__(self, times, index):
        list.__init__(self, times)
        self.annotations = {"source_index": index}


class _Segment(object):
    def __init__(self, spiketrains):
        self.spiketrains = spiketrains


class _Block(object):
    def __init__(self, segments):
        self.segments = segments


class Population(object):
    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values=None, label=None):
        self.size = size
        self.cell = cellclass
        self.structure = structure
        self.label = label
        self.index = len(_pops)
        self.recording = False
        self.segments = []
        self.shape = structure.shape(size) if isinstance(structure, Grid2D) else None   # (width, height)
        params = dict(cellclass.params)
        self.spike_times = params.get("spike_times")
        self.initial = dict(initial_values or {})
        entry = {"label": label, "size": size, "celltype": cellclass.kind,
                 "structure": None if structure is None else {"type": "Grid2D", "aspect_ratio": structure.aspect_ratio},
                 "params": _jsonable(params), "initial_values": _jsonable(self.initial)}
        _log["populations"].append(entry)
        _pops.append(self)

    def __len__(self):
        return self.size

    def record(self, variables):
        self.recording = True
        _log["records"].append({"population": self.label, "variables": _jsonable(variables)})

    def set(self, **kw):
        if "spike_times" in kw:
            self.spike_times = kw["spike_times"]
        _log["sets"].append({"population": self.label, "segment": _state["segment"], "params": _jsonable(kw)})

    def get_data(self, variables="all"):
        return _Block([_Segment([_SpikeTrain(t, i) for i, t in enumerate(s)]) for s in self.segments])


class Projection(object):
    def __init__(self, pre, post, connector, synapse_type=None, receptor_type="excitatory", label=None):
        self.pre, self.post, self.connector = pre, post, connector
        self.synapse_type = synapse_type if synapse_type is not None else StaticSynapse()
        self.receptor_type = receptor_type
        local = isinstance(self.synapse_type, Convolution)
        if isinstance(connector, ConvolutionConnector) != local:
            raise ValueError("ConvolutionConnector goes with synapse_type Convolution() and only with it")
        kinds = [isinstance(p.synapse_type, Convolution) for p in _projs if p.post is post]
        if kinds and kinds[0] != local:
            raise ValueError("%s: all projections into a Population must have a synapse_type of Convolution, or none" % post.label)
        entry = {"pre": pre.label, "post": post.label, "connector": connector.kind,
                 "synapse_type": self.synapse_type.kind, "receptor_type": receptor_type, "label": label}
        if local:
            if pre.shape is None or post.shape is None:
                raise ValueError("ConvolutionConnector needs Grid2D populations")
            pw, ph = pre.shape
            qh, qw = connector.get_post_shape((ph, pw))
            if (qw, qh) != post.shape:
                raise ValueError("%s -> %s: the post population must have shape %s, not %s" % (pre.label, post.label, (qw, qh), post.shape))
            entry.update(kernel_weights=connector.kernel_weights, strides=list(connector.strides), padding=list(connector.padding))
        else:
            for r in connector.conn_list:
                if not (0 <= r[0] < pre.size and 0 <= r[1] < post.size):
                    raise ValueError("%s -> %s: row %s out of range" % (pre.label, post.label, r))
                if r[2] < 0:
                    raise ValueError("negative weight in a FromListConnector row: %s" % (r,))
            entry["conn_list"] = _jsonable(connector.conn_list)
        _log["projections"].append(entry)
        _projs.append(self)

    def targets(self, i):
        """(post index, weight (signed: negative inhibits), delay in ticks) of pre neuron i."""
        c = self.connector
        if isinstance(c, ConvolutionConnector):
            pw, ph = self.pre.shape
            qw, qh = self.post.shape
            row, col = i // pw, i % pw
            (sr, sc), (pr, pc) = c.strides, c.padding
            kh, kw = len(c.kernel_weights), len(c.kernel_weights[0])
            r, q = row + pr, col + pc
            post_r, start_r = r // sr, r % sr
            post_c, start_c = q // sc, q % sc
            out = []
            i_row, tmp_row = start_r, post_r
            while i_row < kh:
                kr = kh - 1 - i_row
                if 0 <= tmp_row < qh:
                    i_col, tmp_col = start_c, post_c
                    while i_col < kw:
                        kc = kw - 1 - i_col
                        if 0 <= tmp_col < qw:
                            w = c.kernel_weights[kr][kc]
                            if w != 0:
                                out.append((tmp_row * qw + tmp_col, w, 1))
                        i_col += sc
                        tmp_col -= 1
                i_row += sr
                tmp_row -= 1
            return out
        if not hasattr(self, "_rows"):
            self._rows = {}
            sign = -1.0 if self.receptor_type == "inhibitory" else 1.0
            for r in c.conn_list:
                delay = self.synapse_type.delay if len(r) < 4 else r[3]
                ticks = max(1, int(round(float(delay if delay is not None else _state["dt"]) / _state["dt"])))
                self._rows.setdefault(int(r[0]), []).append((int(r[1]), sign * float(r[2]), ticks))
        return self._rows.get(i, [])


def reset():
    _log["resets"] += 1
    _state["time"] = 0
    _state["segment"] += 1


def run(duration):
    dt = _state["dt"]
    ticks = int(round(float(duration) / dt))
    _log["runs"].append({"segment": _state["segment"], "duration": duration})
    start = _state["time"]
    fresh = start == 0
    for p in _pops:
        if fresh:
            p.v = [float(p.initial.get("v", 0.0))] * p.size
            p.refractory = [0] * p.size
            p.pending = {}
            p.segments.append([[] for _ in range(p.size)])
    outgoing = {}
    for pr in _projs:
        outgoing.setdefault(pr.pre.index, []).append(pr)
    for t in range(start, start + ticks):
        fired = []
        for p in _pops:
            if p.cell.kind == "SpikeSourceArray":
                for i, times in enumerate(p.spike_times):
                    for s in times:
                        if int(round(float(s) / dt)) == t:
                            fired.append((p, i))
                continue
            prm = p.cell.params
            inputs = p.pending.pop(t, {})
            th = prm["v_thresh"]
            refr = int(math.ceil(float(prm.get("tau_refrac", 0.1)) / dt - 1e-9))
            for i in range(p.size):
                if p.refractory[i] > 0:
                    p.refractory[i] -= 1
                    continue
                p.v[i] += inputs.get(i, 0.0)
                thr = th[i] if isinstance(th, (list, tuple)) else th
                if p.v[i] >= thr:
                    p.v[i] = float(prm.get("v_reset", 0.0))
                    p.refractory[i] = refr
                    fired.append((p, i))
        for p, i in fired:
            if p.recording:
                p.segments[-1][i].append(t * dt)
            for pr in outgoing.get(p.index, []):
                for post, w, d in pr.targets(i):
                    slot = pr.post.pending.setdefault(t + d, {})
                    slot[post] = slot.get(post, 0.0) + w
    _state["time"] = start + ticks


def end():
    _log["ended"] = True
    path = os.environ.get("FAKE_PYNN_LOG")
    if path:
        with open(path, "w") as f:
            json.dump(_log, f)
"""#,
    ]
}
