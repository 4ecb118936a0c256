"""Checkpoints with orbax: the train state and the config, every K steps, keeping the last few.

Orbax writes each checkpoint to a temporary folder and renames it when complete, so a run killed at any moment
(even kill -9 during a save) restarts from the last complete checkpoint.
"""
import json
import logging
import os

import orbax.checkpoint as ocp


def manager(directory, config):
  options = ocp.CheckpointManagerOptions(max_to_keep=config.keep_checkpoints, create=True)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options)  # orbax takes absolute paths only


def save(checkpoints, step, state, config):
  """state: host (numpy) arrays of the train state; config: the ConfigDict, stored as JSON beside it."""
  checkpoints.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                 config=ocp.args.JsonSave(json.loads(config.to_json()))),
                   force=True)


def restore(checkpoints, step, abstract_state):
  """(state, config dict) saved at `step`, with the structure of abstract_state."""
  restored = checkpoints.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                                                               config=ocp.args.JsonRestore()))
  return restored.state, restored.config


def restore_latest_params(directory):
  """(params, config dict) of the newest checkpoint in a run's checkpoint folder, without knowing the model."""
  logging.getLogger('absl').setLevel(logging.ERROR)  # orbax warns when restoring without a target tree
  with ocp.CheckpointManager(os.path.abspath(directory)) as checkpoints:  # orbax takes absolute paths only
    step = checkpoints.latest_step()
    if step is None:
      return None, None, None
    restored = checkpoints.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(),
                                                                 config=ocp.args.JsonRestore()))
  return restored.state['params'], restored.config, step
