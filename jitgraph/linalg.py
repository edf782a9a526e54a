"""``jg.linalg``: linear algebra under TensorFlow's ``tf.linalg`` names."""

__all__ = []
