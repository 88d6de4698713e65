package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that no reader, and no later run after a kill or a crash, ever sees it half written: the
 * bytes go to a temporary sibling ({@code .<name>.tmp-<random>}), are flushed to disk, and the temporary is
 * renamed over the target in one step. A temporary's name carries its process id, so the temporaries a killed run
 * left beside a file are removed the next time the file is written.
 */
public final class AtomicWrite {
  /** What every temporary file's name contains, so leftovers of killed runs can be recognised and removed. */
  public static final String TMP = ".tmp-";

  private AtomicWrite() {}

  /** Produces the file's bytes. */
  public interface Body {
    void write(OutputStream out) throws IOException;
  }

  /**
   * Writes {@code file} atomically.
   *
   * @throws NeedleException IO naming the file if it cannot be written (the target is then unchanged)
   */
  public static void write(Path file, Body body) {
    write(file, body, true);
  }

  /**
   * As {@link #write}, but not flushed to the disk before the rename and without looking for other runs' leftovers:
   * for files that are checked when read and recomputed when bad (the embedding cache, which clears temporaries when
   * it opens). A killed run still leaves the whole file or none; a crash of the machine may leave a torn file, which
   * the reader rejects. The flush cost about 5 ms per file here, as much as a small expert's inference.
   */
  public static void writeUnsynced(Path file, Body body) {
    write(file, body, false);
  }

  private static void write(Path file, Body body, boolean durable) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      // a fresh random name, created with the default permissions (createTempFile would make it owner-only)
      tmp = dir.resolve("." + file.getFileName() + TMP + ProcessHandle.current().pid() + "-"
          + Long.toUnsignedString(java.util.concurrent.ThreadLocalRandom.current().nextLong(), 36));
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
        // writers that close their stream (Arrow's do) must not close the channel before it is forced to disk
        OutputStream out = new java.io.FilterOutputStream(Channels.newOutputStream(ch)) {
          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            this.out.write(b, off, len);
          }

          @Override
          public void close() throws IOException {
            flush();
          }
        };
        body.write(out);
        out.flush();
        if (durable) ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      if (durable) {
        syncDirectory(dir);
        removeLeftovers(dir, file.getFileName().toString());
      }
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot write: " + e.getMessage(), e);
    } finally {
      if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { }
    }
  }

  /**
   * Flushes the folder itself, so that the rename survives a crash of the machine (best effort: some file systems and
   * platforms cannot open a folder for this; the file's own bytes are on disk either way).
   */
  private static void syncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | RuntimeException ignored) {
      // not supported here
    }
  }

  private static final java.util.regex.Pattern TEMPORARY = java.util.regex.Pattern.compile("\\..+" + java.util.regex.Pattern.quote(TMP) + "[0-9]+-[0-9a-z]+");

  /** @return true for the name of a temporary this class writes ({@code .<name>.tmp-<pid>-<random>}), false for others */
  public static boolean isTemporary(String fileName) {
    return TEMPORARY.matcher(fileName).matches();
  }

  /** Deletes the temporaries of {@code dir/name} whose process is no longer alive (a run killed while writing it). */
  private static void removeLeftovers(Path dir, String name) {
    String prefix = "." + name + TMP;
    try (java.nio.file.DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> p.getFileName().toString().startsWith(prefix))) {
      for (Path p : s) {
        String rest = p.getFileName().toString().substring(prefix.length());
        int dash = rest.indexOf('-');
        if (dash > 0 && rest.substring(0, dash).chars().allMatch(Character::isDigit)
            && ProcessHandle.of(Long.parseLong(rest.substring(0, dash))).isEmpty()) Files.deleteIfExists(p);
      }
    } catch (IOException | RuntimeException ignored) {
      // best effort: a leftover only takes space
    }
  }
}
