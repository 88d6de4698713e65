package io.needle.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.needle.NeedleException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11 part 4: CSV through Commons CSV keeps Needle's reading rules, messages and written bytes. */
class CsvTest {
  @TempDir Path dir;

  private Path file(String text) throws Exception {
    return Files.writeString(dir.resolve("t.csv"), text, StandardCharsets.UTF_8);
  }

  private String message(String text) throws Exception {
    Path f = file(text);
    NeedleException e = assertThrows(NeedleException.class, () -> Csv.read(f));
    assertEquals(NeedleException.Code.BAD_INPUT, e.code());
    assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
    return e.getMessage().substring(f.toString().length() + 2);
  }

  @Test
  void readsQuotedFieldsLineEndsBlankLinesAndTheLineOfEachRow() throws Exception {
    Csv c = Csv.read(file("\uFEFF Task ,Expert,Score\r\n\r\na,\"x,\"\"y\"\"\nz\",1\n\nb,y,\n\"c\",z,NaN"));
    assertEquals(List.of("task", "expert", "score"), c.header());
    assertEquals(3, c.rows().size());
    assertArrayEquals(new String[] {"a", "x,\"y\"\nz", "1"}, c.rows().get(0));
    assertArrayEquals(new int[] {3, 6, 7}, c.lines());
    assertEquals(1, c.number(0, c.column("score")));
    assertTrue(Double.isNaN(c.number(1, 2)) && Double.isNaN(c.number(2, 2)));
    assertEquals(-1, c.optionalColumn("rank"));
  }

  @Test
  void messagesNameTheFileAndLine() throws Exception {
    assertEquals("line 4: 2 fields, but the header has 3", message("a,b,c\n1,2,3\n\n4,5\n"));
    assertEquals("line 3: unterminated quoted field", message("a,b\n1,2\n3,\"open\n4,5\n"));
    assertEquals("empty (expected a header row)", message("\n\n"));
    assertEquals("line 2: 'x' in column b is not a number", assertThrows(NeedleException.class,
        () -> { Csv c = Csv.read(file("a,b\n1,x\n")); c.number(0, 1); }).getMessage().substring(dir.resolve("t.csv").toString().length() + 2));
    Csv c = Csv.read(file("a,b\n1,2\n"));
    assertTrue(assertThrows(NeedleException.class, () -> c.column("z")).getMessage().endsWith(": no column 'z' (columns: a,b)"));
    assertTrue(assertThrows(NeedleException.class, () -> Csv.read(dir.resolve("none.csv"))).getMessage().endsWith("none.csv: no such file"));
  }

  @Test
  void writesFieldsQuotedOnlyWhereTheyMustBeAndReadsThemBack() throws Exception {
    Path f = dir.resolve("w.csv");
    Csv.write(f, List.of("expert", "score", "reason"), out -> {
      out.printRecord("plain", 0.5, "");
      out.printRecord("a,b", 1.0E-4, "says \"no\"\nat line 2");
      out.printRecord("x", -2, "cr\rhere");
    });
    assertEquals("expert,score,reason\nplain,0.5,\n\"a,b\",1.0E-4,\"says \"\"no\"\"\nat line 2\"\nx,-2,\"cr\rhere\"\n", Files.readString(f));
    Csv c = Csv.read(f);
    assertArrayEquals(new String[] {"a,b", "1.0E-4", "says \"no\"\nat line 2"}, c.rows().get(1));
    assertArrayEquals(new int[] {2, 3, 5}, c.lines());
  }
}
