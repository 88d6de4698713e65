package io.needle.spark;

import io.needle.NeedleException;
import io.needle.zoo.Expert;
import io.needle.zoo.Preprocess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Experts as Spark rows and back: what crosses from the driver to the executors is the manifest's content (model path,
 * input, output, adapter, preprocessing, metadata), never an opened model.
 */
final class ExpertRows {
  private ExpertRows() {}

  static final StructType PREPROCESS = new StructType(new StructField[] {
      field("channels", DataTypes.StringType), field("resize", DataTypes.createArrayType(DataTypes.IntegerType, false)),
      field("crop", DataTypes.createArrayType(DataTypes.IntegerType, false)), field("mean", DataTypes.createArrayType(DataTypes.FloatType, false)),
      field("std", DataTypes.createArrayType(DataTypes.FloatType, false)), field("layout", DataTypes.StringType)});

  /** See {@link NeedleSpark#EXPERTS}. */
  static final StructType SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField("id", DataTypes.StringType, false), DataTypes.createStructField("path", DataTypes.StringType, false),
      field("input", DataTypes.StringType), field("output", DataTypes.StringType), field("adapter_input", DataTypes.StringType),
      field("adapter_index", DataTypes.LongType), field("logits", DataTypes.StringType), field("preprocess", PREPROCESS),
      field("architecture", DataTypes.StringType), field("parameters", DataTypes.LongType), field("dimension", DataTypes.IntegerType),
      field("upstream", DataTypes.StringType), field("upstream_size", DataTypes.LongType), field("score", DataTypes.DoubleType),
      field("tags", DataTypes.createArrayType(DataTypes.StringType, false)), field("parent", DataTypes.StringType),
      field("ingredients", DataTypes.createArrayType(DataTypes.StringType, false))});

  private static StructField field(String name, DataType type) {
    return DataTypes.createStructField(name, type, true);
  }

  /** @return the expert as a row of {@link #SCHEMA} (the model's absolute path) */
  static Row row(Expert e) {
    Expert.Metadata m = e.meta();
    Preprocess p = e.preprocess();
    Row pre = p.equals(Preprocess.DEFAULT) ? null
        : RowFactory.create(p.channels(), seq(ints(p.resize())), seq(ints(p.crop())), seq(floats(p.mean())), seq(floats(p.std())), p.layout());
    return RowFactory.create(e.id(), e.file().toAbsolutePath().toString(), e.input(), e.output(), e.adapterInput(),
        e.adapter() ? e.adapterIndex() : null, e.logits(), pre, m.architecture(), m.parameters(), m.dimension(), m.upstream(),
        m.upstreamSize(), m.score(), m.tags().isEmpty() ? null : seq(m.tags()), m.parent(), m.ingredients().isEmpty() ? null : seq(m.ingredients()));
  }

  /**
   * Reads an expert from a row of any schema that has {@code id} and {@code path}; the other columns of {@link #SCHEMA} are
   * optional (absent or null: the zoo's defaults). Columns are found by name, so a pipeline's wider table works as it is.
   *
   * @throws NeedleException BAD_INPUT naming the column when a value is missing or of the wrong type
   */
  static Expert expert(Row r) {
    String id = string(r, "id");
    if (id == null || id.isBlank()) throw bad("no expert id");
    String path = string(r, "path");
    if (path == null || path.isBlank()) throw bad(id + ": no model path");
    Path file;
    try {
      file = Path.of(path);
    } catch (java.nio.file.InvalidPathException ex) {
      throw bad(id + ": path '" + path + "' is not a valid path");
    }
    String adapterInput = string(r, "adapter_input");
    Long index = number(r, "adapter_index", Long.class);
    Row pre = value(r, "preprocess", Row.class);
    Preprocess p;
    try {
      p = pre == null ? Preprocess.DEFAULT
          : new Preprocess(string(pre, "channels"), intArray(pre, "resize"), intArray(pre, "crop"), floatArray(pre, "mean"), floatArray(pre, "std"), string(pre, "layout"));
    } catch (NeedleException ex) {
      throw bad(id + ": preprocess: " + ex.getMessage());
    }
    List<String> tags = value(r, "tags", List.class) == null ? null : stringList(r, "tags");
    List<String> ingredients = value(r, "ingredients", List.class) == null ? null : stringList(r, "ingredients");
    Expert.Metadata m = new Expert.Metadata(string(r, "architecture"), number(r, "parameters", Long.class), number(r, "dimension", Integer.class),
        string(r, "upstream"), number(r, "upstream_size", Long.class), number(r, "score", Double.class), tags, string(r, "parent"), ingredients);
    return new Expert(id, file, string(r, "input"), string(r, "output"), adapterInput, index == null ? 0 : index, p, m, string(r, "logits"));
  }

  /** @return the row's {@code id} if it has a usable one, else null (for naming a row that cannot be read) */
  static String idOrNull(Row r) {
    try {
      return string(r, "id");
    } catch (RuntimeException ex) {
      return null;
    }
  }

  private static int index(Row r, String column) {
    if (r.schema() == null) throw bad("rows need a schema (columns are read by name)");
    return r.schema().getFieldIndex(column).isDefined() ? r.fieldIndex(column) : -1;
  }

  private static <T> T value(Row r, String column, Class<T> type) {
    int i = index(r, column);
    if (i < 0 || r.isNullAt(i)) return null;
    Object v = r.get(i);
    if (type == List.class && v instanceof scala.collection.Seq<?>) v = r.getList(i);
    if (!type.isInstance(v)) throw bad("column " + column + " holds " + v.getClass().getSimpleName() + ", not " + type.getSimpleName());
    return type.cast(v);
  }

  private static String string(Row r, String column) {
    return value(r, column, String.class);
  }

  /** A number column of any integral or floating width, as the type the metadata wants. */
  private static <T> T number(Row r, String column, Class<T> type) {
    Number n = value(r, column, Number.class);
    if (n == null) return null;
    if (type == Long.class) return type.cast(n.longValue());
    if (type == Integer.class) return type.cast(n.intValue());
    return type.cast(n.doubleValue());
  }

  private static List<?> list(Row r, String column) {
    List<?> l = value(r, column, List.class);
    if (l != null && l.contains(null)) throw bad("column " + column + " holds a null element");
    return l;
  }

  private static List<String> stringList(Row r, String column) {
    List<String> out = new ArrayList<>();
    for (Object o : list(r, column)) out.add(String.valueOf(o));
    return out;
  }

  private static int[] intArray(Row r, String column) {
    List<?> l = list(r, column);
    return l == null ? null : l.stream().mapToInt(o -> ((Number) o).intValue()).toArray();
  }

  private static float[] floatArray(Row r, String column) {
    List<?> l = list(r, column);
    if (l == null) return null;
    float[] out = new float[l.size()];
    for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).floatValue();
    return out;
  }

  private static List<Integer> ints(int[] a) {
    return a == null ? null : java.util.Arrays.stream(a).boxed().toList();
  }

  private static List<Float> floats(float[] a) {
    if (a == null) return null;
    List<Float> out = new ArrayList<>(a.length);
    for (float f : a) out.add(f);
    return out;
  }

  /** Spark's row encoder takes arrays as Scala sequences. */
  private static scala.collection.immutable.Seq<?> seq(List<?> l) {
    return l == null ? null : scala.jdk.javaapi.CollectionConverters.asScala(l).toList();
  }

  private static NeedleException bad(String message) {
    return new NeedleException(NeedleException.Code.BAD_INPUT, message);
  }
}
