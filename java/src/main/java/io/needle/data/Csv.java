package io.needle.data;

import io.needle.NeedleException;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;

/**
 * RFC 4180 CSV through Apache Commons CSV: reading the tables Needle reads back (score tables, fine-tune oracles),
 * with messages that name the file and line, and writing its tables atomically. The first row is the header;
 * column names are matched case-insensitively.
 *
 * @param file where it was read from (for messages)
 * @param header the column names
 * @param rows the data rows, each as long as the header
 * @param lines the 1-based line number each row starts on
 */
public record Csv(Path file, List<String> header, List<String[]> rows, int[] lines) {

  /** How Needle writes CSV: RFC 4180, a field quoted only where it must be, lines ending in {@code \n}. */
  public static final CSVFormat FORMAT = CSVFormat.RFC4180.builder().setRecordSeparator('\n').get();

  /**
   * How it reads: RFC 4180 with any line ends, and text after a closing quote kept (as {@code "a"b} = {@code ab}),
   * so the only malformed input left is a quote that is never closed. Blank lines come back as one empty field
   * and are skipped by {@link #read}, which so knows the line every row starts on.
   */
  private static final CSVFormat READ = CSVFormat.RFC4180.builder().setTrailingData(true).get();

  /**
   * Reads a CSV file.
   *
   * @throws NeedleException BAD_INPUT if it does not exist, is empty, has an unterminated quote, or a row of the
   *     wrong length; IO if it cannot be read
   */
  public static Csv read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no such file");
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
    if (text.startsWith("\uFEFF")) text = text.substring(1);
    List<String[]> all = new ArrayList<>();
    List<Integer> starts = new ArrayList<>();
    try (CSVParser p = CSVParser.parse(text, READ)) {
      Iterator<CSVRecord> it = p.iterator();
      while (true) {
        int line = (int) p.getCurrentLineNumber() + 1;  // the parser has read whole lines so far
        CSVRecord r;
        try {
          if (!it.hasNext()) break;
          r = it.next();
        } catch (UncheckedIOException e) {
          throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + line + ": unterminated quoted field");
        }
        if (r.size() == 1 && r.get(0).isEmpty()) continue;  // a blank line
        all.add(r.values());
        starts.add(line);
      }
    } catch (IOException e) {
      throw new NeedleException(NeedleException.Code.IO, file + ": cannot read: " + e.getMessage(), e);
    }
    if (all.isEmpty()) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": empty (expected a header row)");
    List<String> header = Arrays.stream(all.get(0)).map(h -> h.trim().toLowerCase(Locale.ROOT)).toList();
    int[] lines = new int[all.size() - 1];
    for (int r = 1; r < all.size(); r++) {
      if (all.get(r).length != header.size())
        throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + starts.get(r) + ": " + all.get(r).length
            + " fields, but the header has " + header.size());
      lines[r - 1] = starts.get(r);
    }
    return new Csv(file, header, List.copyOf(all.subList(1, all.size())), lines);
  }

  /**
   * @return the index of a required column
   * @throws NeedleException BAD_INPUT naming the file, the column and the columns it has
   */
  public int column(String name) {
    int i = header.indexOf(name);
    if (i < 0) throw new NeedleException(NeedleException.Code.BAD_INPUT, file + ": no column '" + name + "' (columns: " + String.join(",", header) + ")");
    return i;
  }

  /** @return the index of an optional column, or -1 */
  public int optionalColumn(String name) {
    return header.indexOf(name);
  }

  /** @return a BAD_INPUT error for data row {@code r} naming the file and line */
  public NeedleException bad(int r, String message) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, file + ": line " + lines[r] + ": " + message);
  }

  /** @return a number in row {@code r}, column {@code c}; blank or "NaN" give NaN */
  public double number(int r, int c) {
    String s = rows.get(r)[c].trim();
    if (s.isEmpty() || s.equalsIgnoreCase("nan")) return Double.NaN;
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw bad(r, "'" + s + "' in column " + header.get(c) + " is not a number");
    }
  }

  /** Prints a table's rows (the header is printed already). */
  @FunctionalInterface
  public interface Rows {
    void print(CSVPrinter out) throws IOException;
  }

  /**
   * Writes a table in {@link #FORMAT} atomically ({@link AtomicWrite}): the header, then the rows.
   *
   * @throws NeedleException IO naming the file if it cannot be written
   */
  public static void write(Path file, List<String> header, Rows rows) {
    AtomicWrite.write(file, out -> {
      Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
      CSVPrinter p = new CSVPrinter(w, FORMAT.builder().setHeader(header.toArray(String[]::new)).get());
      rows.print(p);
      p.flush();
    });
  }
}
