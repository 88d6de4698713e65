package io.needle.data;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct (off-heap) buffers for {@link Embedding#offHeap off-heap embeddings}, handed out and taken back so that a run
 * over hundreds of experts allocates only the few it holds at once: a fresh direct buffer costs a zeroing pass and its
 * page faults, and large Java arrays in their place grow the heap of a collector that rarely runs. {@link #close()}
 * frees every buffer given back (and each given back later) at once. Thread-safe.
 */
public final class OffHeap implements AutoCloseable {
  private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
  private boolean closed;

  /** @return a direct buffer of at least {@code bytes} bytes (position 0, limit its capacity, contents undefined) */
  public synchronized ByteBuffer take(int bytes) {
    for (java.util.Iterator<ByteBuffer> it = free.iterator(); it.hasNext(); ) {
      ByteBuffer b = it.next();
      if (b.capacity() >= bytes && b.capacity() <= 2L * bytes + 4096) {
        it.remove();
        return b.clear();
      }
    }
    return ByteBuffer.allocateDirect(bytes);
  }

  /** Takes back a buffer from {@link #take} (the buffer itself, not a view of it); nothing may use it afterwards. */
  public synchronized void give(ByteBuffer b) {
    if (closed) Unmap.unmap(b);
    else free.push(b);
  }

  /** Frees every buffer given back, now and from now on. */
  @Override
  public synchronized void close() {
    closed = true;
    while (!free.isEmpty()) Unmap.unmap(free.pop());
  }
}
