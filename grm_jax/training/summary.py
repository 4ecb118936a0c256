"""Scalars to TensorBoard event files, with nothing but the standard library.

A GPU or TPU training box often has neither TensorFlow nor tensorboard, so the few bytes TensorBoard reads are
written here: TFRecord framing (length, masked CRC-32C, payload, masked CRC-32C) around `Event` protocol
buffers holding `Summary.Value(tag, simple_value)`. The test suite reads the files back with tensorboard.
"""
import os
import socket
import struct
import time


def _crc32c_table():
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    table.append(crc)
  return table


_CRC32C = _crc32c_table()


def masked_crc32c(data):
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  crc ^= 0xFFFFFFFF
  return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value):
  out = bytearray()
  while True:
    bits, value = value & 0x7F, value >> 7
    out.append(bits | (0x80 if value else 0))
    if not value:
      return bytes(out)


def _field(number, wire_type):
  return _varint(number << 3 | wire_type)


def _length_delimited(number, payload):
  return _field(number, 2) + _varint(len(payload)) + payload


def _event(wall_time, step=None, file_version=None, summary=None):
  """An Event message: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5."""
  message = _field(1, 1) + struct.pack('<d', wall_time)
  if step is not None:
    message += _field(2, 0) + _varint(step & 0xFFFFFFFFFFFFFFFF)
  if file_version is not None:
    message += _length_delimited(3, file_version.encode())
  if summary is not None:
    message += _length_delimited(5, summary)
  return message


def _scalar_summary(values):
  """A Summary message: repeated Value (1) of tag = 1 (string) and simple_value = 2 (float)."""
  return b''.join(_length_delimited(1, _length_delimited(1, tag.encode()) + _field(2, 5) + struct.pack('<f', value))
                  for tag, value in values.items())


class SummaryWriter:

  def __init__(self, logdir):
    os.makedirs(logdir, exist_ok=True)
    name = f'events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}'
    self._file = open(os.path.join(logdir, name), 'wb')  # pylint: disable=consider-using-with
    self._write(_event(time.time(), file_version='brain.Event:2'))

  def _write(self, record):
    length = struct.pack('<Q', len(record))
    self._file.write(length + struct.pack('<I', masked_crc32c(length)) + record +
                     struct.pack('<I', masked_crc32c(record)))

  def scalars(self, step, values):
    self._write(_event(time.time(), step=int(step), summary=_scalar_summary({k: float(v) for k, v in values.items()})))
    self._file.flush()

  def close(self):
    self._file.close()
