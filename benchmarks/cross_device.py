"""Does a .grm file made on one machine decode on another?

  python benchmarks/cross_device.py record --data ../shared/data/kodak --out cpu.npz     # on machine A
  python benchmarks/cross_device.py check cpu.npz --data ../shared/data/kodak            # on machine B
  python benchmarks/cross_device.py check cpu.npz --real-files                            # the files themselves

`record` encodes each image and keeps what the range coder was given (grm_jax/codec/replay.py): the scale-table
index and the value of every coded symbol, in coding order, with digests of the encoder's y_hat and
reconstruction. `check` decodes the same files on this machine with a stand-in range decoder that hands back the
recorded values, and counts the symbols
whose scale-table index differs from the encoder's. With the real range decoder the first such symbol is decoded
from the wrong table, and what follows is garbage; the stand-in lets the decode go on, so the count says how far
the two machines disagree. It also says whether y_hat and the reconstruction are bit-identical, their PSNR against
the original, and the decode time (a second pass, after the compiles; range coding takes no time here).
`--real-files` decodes the recorded files with the real range decoder instead: the check a user's file meets
(a wrong table shows as a y_hat that differs, or a refusal), and the decode time with range coding.
"""
import argparse
import hashlib
import json
import os
import time

import jax
import numpy as np

import grm_jax
from grm_jax import image_io, zoo
from grm_jax.codec import replay
from grm_jax.errors import GrmError
from grm_jax.evaluation import psnr_uint8


def _digest(array):
  return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def _device():
  device = jax.devices()[0]
  kind = getattr(device, 'device_kind', device.platform)
  return f"{device.platform}{'' if kind == device.platform else ' ' + kind}, jax {jax.__version__}"


def record(args):
  codec = grm_jax.load(args.model)
  paths = image_io.list_images(args.data)[:args.limit or None]
  out = {'names': np.array([os.path.basename(p) for p in paths]), 'device': np.array(_device()),
         'model': np.array(args.model)}
  for i, path in enumerate(paths):
    image = image_io.read_image(path)
    with replay.recording() as streams:
      encoded = codec.encode(image)
    out[f'{i}/file'] = np.frombuffer(encoded.data, np.uint8)  # its strings are the recording's tokens
    out[f'{i}/real_file'] = np.frombuffer(codec.compress(image), np.uint8)  # the same encode, range-coded
    for token in streams:
      indexes, values = streams[token]
      out[f'{i}/{token.decode()}/indexes'] = indexes.astype(np.int16)
      out[f'{i}/{token.decode()}/values'] = values
    out[f'{i}/y_hat'] = np.array(_digest(encoded.y_hat))
    out[f'{i}/reconstruction'] = np.array(_digest(encoded.reconstruction))
    out[f'{i}/psnr'] = np.array(psnr_uint8(image, encoded.reconstruction))
    print(f"{os.path.basename(path)}: {len(encoded.data)} bytes", flush=True)
  np.savez_compressed(args.out, **out)
  print(f"wrote {args.out}: {len(paths)} images encoded on {_device()}")


def _decode_real_file(codec, data):
  """(decoded or None if refused, seconds, row fields): the file through the real range decoder."""
  start = time.perf_counter()
  try:
    decoded = codec.decode(data)
  except GrmError as error:
    return None, time.perf_counter() - start, {'refused': str(error)}
  return decoded, time.perf_counter() - start, {}


def _decode_replayed(codec, records, i):
  data = records[f'{i}/file'].tobytes()
  names = {key.split('/')[1] for key in records if key.startswith(f'{i}/stream')}
  streams = {s.encode(): (records[f'{i}/{s}/indexes'], records[f'{i}/{s}/values']) for s in names}
  with replay.replaying(streams) as asked:
    start = time.perf_counter()
    decoded = codec.decode(data)
    seconds = time.perf_counter() - start
  mismatched, symbols, first = replay.index_mismatches(streams, asked)
  return decoded, seconds, {'symbols': symbols, 'index_mismatches': mismatched, 'first_mismatch_at': first}


def _decode_all(codec, records, count, images, real_files):
  rows, seconds = [], []
  for i in range(count):
    if real_files:
      decoded, elapsed, fields = _decode_real_file(codec, records[f'{i}/real_file'].tobytes())
    else:
      decoded, elapsed, fields = _decode_replayed(codec, records, i)
    seconds.append(elapsed)
    row = {'image': str(records['names'][i]), **fields}
    rows.append(row)
    if decoded is None:
      row.update(y_hat_identical=False, reconstruction_identical=False)
      continue
    row.update({
           'y_hat_identical': _digest(decoded.y_hat) == str(records[f'{i}/y_hat']),
           'reconstruction_identical': _digest(decoded.image) == str(records[f'{i}/reconstruction']),
           'encoder_psnr': float(records[f'{i}/psnr'])})
    if images is not None:
      row['decoder_psnr'] = psnr_uint8(images[i], decoded.image)
  return rows, seconds


def check(args):
  if args.precision:
    jax.config.update('jax_default_matmul_precision', args.precision)
  records = dict(np.load(args.records))
  names = [str(n) for n in records['names']]
  codec = grm_jax.load(str(records['model']))
  images = ([image_io.read_image(os.path.join(args.data, name)) for name in names] if args.data else None)
  _decode_all(codec, records, len(names), images, args.real_files)  # compiles (one per image shape)
  rows, seconds = _decode_all(codec, records, len(names), images, args.real_files)
  summary = {
      'encoded_on': str(records['device']), 'decoded_on': _device(), 'precision': args.precision or 'default',
      'range_decoder': 'real' if args.real_files else 'replayed', 'images': len(rows)}
  if args.real_files:
    summary['refused'] = sum('refused' in r for r in rows)
  else:
    summary.update(images_with_index_mismatches=sum(r['index_mismatches'] > 0 for r in rows),
                   index_mismatches=sum(r['index_mismatches'] for r in rows), symbols=sum(r['symbols'] for r in rows))
  summary.update({
      'y_hat_identical': sum(r['y_hat_identical'] for r in rows),
      'reconstruction_identical': sum(r['reconstruction_identical'] for r in rows),
      'median_decode_seconds': float(np.median(seconds)), 'rows': rows})
  if images is not None and all('decoder_psnr' in r for r in rows):
    summary['max_psnr_difference_db'] = max(abs(r['decoder_psnr'] - r['encoder_psnr']) for r in rows)
  text = json.dumps(summary, indent=1)
  if args.out:
    with open(args.out, 'w', encoding='utf-8') as f:
      f.write(text + '\n')
  del summary['rows']
  print(json.dumps(summary))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest='command', required=True)
  recording = commands.add_parser('record', help='encode images, keeping what the range coder was given')
  recording.add_argument('--model', default=zoo.DEFAULT, help='a shipped model name (it must name the same model on '
                         'both machines) or a model directory')
  recording.add_argument('--data', required=True, help='a folder of photographs')
  recording.add_argument('--limit', type=int, default=0, help='the first N images only')
  recording.add_argument('--out', required=True)
  recording.set_defaults(run=record)
  checking = commands.add_parser('check', help='decode recorded files here and compare')
  checking.add_argument('records')
  checking.add_argument('--data', help='the original images, for the PSNR of the decoded ones')
  checking.add_argument('--precision', choices=('highest', 'high', 'default', 'bfloat16', 'tensorfloat32'),
                        help="jax_default_matmul_precision for this decode")
  checking.add_argument('--real-files', action='store_true',
                        help='decode the files with the real range decoder (not the recorded values)')
  checking.add_argument('--out', help='a JSON file for the per-image rows')
  checking.set_defaults(run=check)
  args = parser.parse_args()
  args.run(args)


if __name__ == '__main__':
  main()
