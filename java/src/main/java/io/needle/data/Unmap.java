package io.needle.data;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;

/**
 * Unmaps a memory-mapped file, or frees a direct buffer, at once rather than when the garbage collector finds the buffer
 * unreachable: large arrays go straight to the old generation, so young collections are rare and a run over hundreds
 * of files would otherwise keep each one mapped (and resident) for a long time. Uses
 * {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported); where that is absent, buffers are left to the
 * collector.
 */
final class Unmap {
  private static final MethodHandle CLEANER = find();

  private Unmap() {}

  private static MethodHandle find() {
    try {
      Class<?> unsafe = Class.forName("sun.misc.Unsafe");
      java.lang.reflect.Field f = unsafe.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      return MethodHandles.lookup().findVirtual(unsafe, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class)).bindTo(f.get(null));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Unmaps a mapped buffer or frees a direct one (the buffer {@code FileChannel.map} or {@code allocateDirect} returned,
   * not a slice); nothing may use it, or any view of it, afterwards.
   */
  static void unmap(ByteBuffer mapped) {
    if (CLEANER == null) return;
    try {
      CLEANER.invokeExact(mapped);
    } catch (Throwable e) {  // not a root buffer, or no cleaner: the collector unmaps it later
    }
  }
}
