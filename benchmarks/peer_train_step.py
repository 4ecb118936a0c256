"""Train-step time of grm_jax against its peer, CompressAI, on the same network, machine and run.

  python benchmarks/peer_train_step.py                              # both from this interpreter
  python benchmarks/peer_train_step.py --peer-python /path/to/torch-venv/bin/python

The network is Minnen 2018's joint autoregressive model at CompressAI's mbt2018 size (N=192, M=320, GDN): ours is
configs/context_mbt2018.py, timed by benchmarks/train_step.py; the peer is compressai.models.
JointAutoregressiveHierarchicalPriors(192, 320) with the training step of CompressAI's examples/train.py (Adam,
lambda * 255^2 * MSE + bpp, gradient clipping at 1.0, and its auxiliary loss with its own Adam). Batch 8 of
random 256x256 crops. The two alternate, each in its own process, `--rounds` times, and the script prints the
median of each and their ratio. Where PyTorch or CompressAI is missing, it says so and times only ours.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def peer_step_seconds(batch, patch, steps, device):
  """Seconds per train step of CompressAI's mbt2018 (run inside the peer's interpreter)."""
  import torch  # pylint: disable=import-outside-toplevel
  from compressai.models import JointAutoregressiveHierarchicalPriors  # pylint: disable=import-outside-toplevel
  torch.manual_seed(0)
  model = JointAutoregressiveHierarchicalPriors(192, 320).to(device).train()
  main = [p for n, p in model.named_parameters() if not n.endswith('.quantiles')]
  aux = [p for n, p in model.named_parameters() if n.endswith('.quantiles')]
  optimizer, aux_optimizer = torch.optim.Adam(main, lr=1e-4), torch.optim.Adam(aux, lr=1e-3)
  x = torch.rand(batch, 3, patch, patch, device=device)
  pixels = batch * patch * patch

  def step():
    optimizer.zero_grad()
    aux_optimizer.zero_grad()
    out = model(x)
    bpp = sum(torch.log(lik).sum() for lik in out['likelihoods'].values()) / (-torch.log(torch.tensor(2.0)) * pixels)
    loss = 0.013 * 255**2 * torch.mean((out['x_hat'] - x) ** 2) + bpp
    loss.backward()
    torch.nn.utils.clip_grad_norm_(main, 1.0)
    optimizer.step()
    aux_loss = model.aux_loss()
    aux_loss.backward()
    aux_optimizer.step()
    return loss

  def sync():
    if device.startswith('cuda'):
      torch.cuda.synchronize()

  step()
  sync()
  start = time.perf_counter()
  for _ in range(steps):
    step()
  sync()
  return (time.perf_counter() - start) / steps, f"CompressAI {__import__('compressai').__version__}, " \
                                                 f"PyTorch {torch.__version__}, {device}"


def run_ours(args):
  command = [sys.executable, os.path.join(HERE, 'train_step.py'), '--config', 'configs/context_mbt2018.py',
             '--batch', str(args.batch), '--patch', str(args.patch), '--steps', str(args.steps)]
  output = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
  seconds = float(re.search(r'train step: ([0-9.]+) s', output).group(1))
  version = re.search(r'(jax \S+), devices: (.*?);', output)
  return seconds, f"grm_jax, {version.group(1)}, {version.group(2)}"


def run_peer(args):
  command = [args.peer_python, os.path.abspath(__file__), '--peer-only', '--batch', str(args.batch),
             '--patch', str(args.patch), '--steps', str(args.steps), '--device', args.device]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
  match = re.search(r'PEER ([0-9.]+) (.*)', result.stdout)
  if not match:
    return None, (result.stdout + result.stderr).strip().splitlines()[-1]
  return float(match.group(1)), match.group(2)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--patch', type=int, default=256)
  parser.add_argument('--steps', type=int, default=3, help='timed steps per round (after one warm-up step)')
  parser.add_argument('--rounds', type=int, default=2)
  parser.add_argument('--peer-python', default=sys.executable, help='interpreter with PyTorch and CompressAI')
  parser.add_argument('--device', default='cpu', help="the peer's torch device: cpu or cuda")
  parser.add_argument('--peer-only', action='store_true', help=argparse.SUPPRESS)
  args = parser.parse_args()

  if args.peer_only:
    try:
      seconds, what = peer_step_seconds(args.batch, args.patch, args.steps, args.device)
    except ImportError as error:
      print(f"PyTorch and CompressAI are not installed for {sys.executable} ({error}): the peer is not timed")
      return
    print(f"PEER {seconds:.4f} {what}")
    return

  ours, peer, described = [], [], {}
  for _ in range(args.rounds):
    seconds, described['ours'] = run_ours(args)
    ours.append(seconds)
    seconds, described['peer'] = run_peer(args)
    if seconds is None:
      print(described['peer'])
      break
    peer.append(seconds)
  print(f"network: Minnen 2018 joint autoregressive, N=192, M=320, GDN; batch {args.batch}, {args.patch}x{args.patch}")
  print(f"ours ({described['ours']}): {statistics.median(ours):.3f} s/step  (rounds: "
        f"{', '.join(f'{s:.3f}' for s in ours)})")
  if peer:
    print(f"peer ({described['peer']}): {statistics.median(peer):.3f} s/step  (rounds: "
          f"{', '.join(f'{s:.3f}' for s in peer)})")
    print(f"ours / peer: {statistics.median(ours) / statistics.median(peer):.2f}x the peer's time")


if __name__ == '__main__':
  main()
