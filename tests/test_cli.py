"""The jitgraph command, run as a subprocess on examples/cli_example.py."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "cli_example.py")


def jitgraph(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT, JITGRAPH_BACKEND="interpreter")
    return subprocess.run([sys.executable, "-m", "jitgraph", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_show_prints_the_traced_graph():
    r = jitgraph("show", f"{EXAMPLE}:bias_tanh", "float32[None,3], float32[3]")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "graph bias_tanh(%x: f32[?,3], %b: f32[3]) -> (f32[?])"
    assert any("= tanh %add" in ln and "# cli_example.py:" in ln for ln in lines)
    assert lines[-1].strip() == "return %reduce_sum"


def test_show_module_target_with_python_value_and_while_loop():
    r = jitgraph("show", "cli_example:scale", "float32[2], 3.0",
                 cwd=os.path.join(ROOT, "examples"))
    assert r.returncode == 0, r.stderr
    assert "graph scale(%x: f32[2]) -> (f32[2])" in r.stdout and "value=3.0" in r.stdout
    r = jitgraph("show", f"{EXAMPLE}:newton_sqrt", "float64[4]")
    assert r.returncode == 0, r.stderr
    assert "while_loop %a" in r.stdout and "body(" in r.stdout


def test_dot_output():
    r = jitgraph("show", f"{EXAMPLE}:bias_tanh", "float32[None,3], float32[3]", "--dot")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('digraph "bias_tanh" {') and r.stdout.rstrip().endswith("}")
    assert '"bias_tanh.x" -> "bias_tanh.add" [label="f32[?,3]"];' in r.stdout


@pytest.mark.parametrize("sig,message", [
    ("float32[None,x]", "dimension 'x' is not a number"),
    ("floaty[3]", "unknown dtype 'floaty'"),
    ("float32[3", "unbalanced brackets"),
    ("float32[3] +", "neither a tensor type"),
])
def test_bad_signature_exits_2_with_a_clear_message(sig, message):
    r = jitgraph("show", f"{EXAMPLE}:bias_tanh", sig)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_bad_target_exits_2():
    r = jitgraph("show", "examples/nope.py:f", "float32[3]")
    assert r.returncode == 2 and "no such file" in r.stderr
    r = jitgraph("show", f"{EXAMPLE}:missing", "float32[3]")
    assert r.returncode == 2 and "has no attribute 'missing'" in r.stderr


def test_help_explains_with_an_example():
    r = jitgraph("show", "--help")
    assert r.returncode == 0
    assert "float32[None,3]" in r.stdout and "--stage" in r.stdout and "--dot" in r.stdout
    r = jitgraph("--help")
    assert r.returncode == 0 and "jitgraph show examples/cli_example.py" in r.stdout


def test_demo_runs_and_agrees_with_numpy():
    r = jitgraph("demo")
    assert r.returncode == 0, r.stderr
    assert "graph soft_norm(%x: f32[?,64])" in r.stdout
    assert "max relative difference to NumPy" in r.stdout and "ratio" in r.stdout
