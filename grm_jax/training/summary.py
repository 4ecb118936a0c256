"""Scalars to TensorBoard event files, without TensorFlow (tensorboard's own record writer and protos)."""
import os
import socket
import time

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


class SummaryWriter:

  def __init__(self, logdir):
    os.makedirs(logdir, exist_ok=True)
    name = f'events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}'
    self._file = open(os.path.join(logdir, name), 'wb')  # pylint: disable=consider-using-with
    self._records = RecordWriter(self._file)
    self._write(event_pb2.Event(wall_time=time.time(), file_version='brain.Event:2'))

  def _write(self, event):
    self._records.write(event.SerializeToString())

  def scalars(self, step, values):
    summary = summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()])
    self._write(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))
    self._file.flush()

  def close(self):
    self._file.close()
