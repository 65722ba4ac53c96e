/**
 * A fresh database for one benchmark run: migrations, N confirmed readers generated in one
 * INSERT ... SELECT over generate_series (PostgreSQL builds the rows, nothing crosses the wire
 * per reader), and about 30 short Arabic and English articles.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Db, withDefaultUser } from '../src/db/pool.js';

export const BASE_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const TOPICS = ['politics', 'economy', 'society', 'reports', 'culture', 'sport'];
/** A reader follows everything ({}), one topic, or a pair: 12 profiles, so editions stay few. */
export const TOPIC_PROFILES: string[][] = [
  [],
  ['politics'],
  ['economy'],
  ['society'],
  ['reports'],
  ['culture'],
  ['sport'],
  ['politics', 'economy'],
  ['society', 'culture'],
  ['sport', 'culture'],
  ['politics', 'reports'],
  ['economy', 'sport'],
];
export const TIMEZONES = [
  'Asia/Damascus',
  'Asia/Beirut',
  'Asia/Riyadh',
  'Asia/Dubai',
  'Africa/Cairo',
  'Europe/Istanbul',
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Toronto',
];
const AR_NAMES = ['أحمد', 'فاطمة', 'يوسف', 'ليلى', 'عمر', 'رنا', 'خالد', 'سلمى', '', ''];
const EN_NAMES = ['Sam', 'Maya', 'Omar', 'Lina', 'Adam', 'Hana', 'Karim', 'Nour', '', ''];

interface ArticleSeed {
  language: 'ar' | 'en';
  topic: string;
  title: string;
  summary: string;
}

// Short texts written for the benchmark (no real events).
const ARTICLES: ArticleSeed[] = [
  {
    language: 'ar',
    topic: 'politics',
    title: 'مجلس المدينة يقرّ خطة جديدة للنقل العام',
    summary:
      'صوّت أعضاء المجلس بالأغلبية على توسيع شبكة الحافلات وإضافة خطوط ليلية تربط الأحياء الطرفية بوسط المدينة.',
  },
  {
    language: 'ar',
    topic: 'politics',
    title: 'جولة مفاوضات ثالثة حول اتفاقية المياه الإقليمية',
    summary: 'اختتمت الوفود جولتها الثالثة دون بيان مشترك، مع الاتفاق على لقاء تقني الشهر المقبل.',
  },
  {
    language: 'ar',
    topic: 'economy',
    title: 'ارتفاع صادرات زيت الزيتون بنسبة عشرين في المئة',
    summary: 'أرجع المصدّرون الزيادة إلى موسم قطاف جيد وافتتاح أسواق جديدة في شرق آسيا.',
  },
  {
    language: 'ar',
    topic: 'economy',
    title: 'المصرف المركزي يُبقي سعر الفائدة دون تغيير',
    summary: 'قال المصرف إن التضخم يتراجع ببطء وإنه سيراقب أسعار الغذاء والطاقة قبل أي خطوة مقبلة.',
  },
  {
    language: 'ar',
    topic: 'economy',
    title: 'أسواق الخضار تستقبل الموسم الشتوي بأسعار مستقرة',
    summary: 'جال مراسلنا في ثلاثة أسواق شعبية ورصد وفرة في المعروض وإقبالاً متوسطاً من المتسوقين.',
  },
  {
    language: 'ar',
    topic: 'society',
    title: 'حملة تطعيم مدرسية تصل إلى القرى الجبلية',
    summary: 'تنقّلت فرق صحية متنقلة بين اثنتي عشرة قرية وقدّمت اللقاحات لأكثر من ثلاثة آلاف طفل.',
  },
  {
    language: 'ar',
    topic: 'society',
    title: 'متطوعون يعيدون تأهيل حديقة الحي القديم',
    summary: 'زرع الشبان أكثر من مئتي شجرة ورمّموا المقاعد والممرات بتمويل من تبرعات السكان.',
  },
  {
    language: 'ar',
    topic: 'reports',
    title: 'تقرير: كيف تغيّرت مهنة الخبّاز في عشر سنوات',
    summary: 'يروي خبّازون من أجيال مختلفة قصص الأفران الحجرية والآلات الحديثة وأسعار الطحين.',
  },
  {
    language: 'ar',
    topic: 'reports',
    title: 'في ميناء الصيادين: يوم كامل مع طاقم مركب صغير',
    summary: 'رافقنا طاقم مركب من الفجر حتى المساء ونقلنا صعوبات المهنة وآمال الجيل الجديد.',
  },
  {
    language: 'ar',
    topic: 'culture',
    title: 'معرض الكتاب يفتح أبوابه بمشاركة مئة دار نشر',
    summary: 'يضم المعرض هذا العام جناحاً خاصاً لأدب الأطفال وندوات يومية مع كتّاب شباب.',
  },
  {
    language: 'ar',
    topic: 'culture',
    title: 'فرقة موسيقية شابة تعيد إحياء الموشحات الأندلسية',
    summary: 'قدّمت الفرقة حفلها الأول على مسرح المدينة وسط حضور لافت من مختلف الأعمار.',
  },
  {
    language: 'ar',
    topic: 'sport',
    title: 'المنتخب يتأهل إلى نصف نهائي البطولة العربية',
    summary: 'حسم المنتخب المباراة بهدفين نظيفين في الشوط الثاني أمام جمهور غفير.',
  },
  {
    language: 'ar',
    topic: 'sport',
    title: 'ماراثون المدينة يجمع خمسة آلاف عدّاء',
    summary: 'شارك في السباق عدّاؤون من عشرين بلداً وخُصص جزء من الرسوم لدعم الرياضة المدرسية.',
  },
  {
    language: 'ar',
    topic: 'politics',
    title: 'البرلمان يناقش قانون حماية البيانات الشخصية',
    summary: 'يطرح المشروع قواعد جديدة لجمع البيانات وتخزينها وعقوبات على الجهات المخالفة.',
  },
  {
    language: 'ar',
    topic: 'society',
    title: 'افتتاح مكتبة عامة جديدة في الضاحية الشمالية',
    summary: 'تضم المكتبة قاعة مطالعة للطلاب ومختبراً رقمياً مفتوحاً مجاناً حتى منتصف الليل.',
  },
  {
    language: 'en',
    topic: 'politics',
    title: 'City council approves a night bus network',
    summary:
      'Councillors voted to add six overnight routes linking outer districts with the centre from next spring.',
  },
  {
    language: 'en',
    topic: 'politics',
    title: 'Third round of regional water talks ends without a statement',
    summary: 'Delegations agreed to meet again at a technical level next month to compare river flow data.',
  },
  {
    language: 'en',
    topic: 'economy',
    title: 'Olive oil exports rise by a fifth',
    summary: 'Exporters credit a strong harvest and new buyers in East Asia for the best season in a decade.',
  },
  {
    language: 'en',
    topic: 'economy',
    title: 'Central bank holds rates steady',
    summary:
      'The bank said inflation is easing slowly and it will watch food and energy prices before moving.',
  },
  {
    language: 'en',
    topic: 'economy',
    title: 'Small workshops turn to solar power',
    summary: 'Rising fuel prices push carpenters and metalworkers to share rooftop panels and batteries.',
  },
  {
    language: 'en',
    topic: 'society',
    title: 'School vaccination drive reaches mountain villages',
    summary:
      'Mobile teams visited twelve villages and vaccinated more than three thousand children in a week.',
  },
  {
    language: 'en',
    topic: 'society',
    title: 'Volunteers restore the old quarter garden',
    summary:
      'Young residents planted two hundred trees and repaired benches with money raised by neighbours.',
  },
  {
    language: 'en',
    topic: 'reports',
    title: 'How the baker’s trade changed in ten years',
    summary: 'Three generations of bakers talk about stone ovens, new machines and the price of flour.',
  },
  {
    language: 'en',
    topic: 'reports',
    title: 'A day aboard a small fishing boat',
    summary: 'We followed a crew from dawn to dusk to see what keeps the harbour working in a hard season.',
  },
  {
    language: 'en',
    topic: 'culture',
    title: 'Book fair opens with a hundred publishers',
    summary: 'This year’s fair has a children’s pavilion and daily talks with first-time authors.',
  },
  {
    language: 'en',
    topic: 'culture',
    title: 'Young ensemble revives Andalusian songs',
    summary: 'The group’s first concert at the city theatre drew a full house of all ages.',
  },
  {
    language: 'en',
    topic: 'sport',
    title: 'National team reaches the Arab Cup semi-final',
    summary: 'Two second-half goals settled the match in front of a packed stadium.',
  },
  {
    language: 'en',
    topic: 'sport',
    title: 'Five thousand runners at the city marathon',
    summary: 'Runners from twenty countries took part; part of the fees goes to school sport.',
  },
  {
    language: 'en',
    topic: 'politics',
    title: 'Parliament debates a personal data law',
    summary:
      'The draft sets rules on collecting and storing data and fines for organisations that break them.',
  },
  {
    language: 'en',
    topic: 'society',
    title: 'New public library opens in the northern suburb',
    summary: 'It has a study hall for students and a free digital lab open until midnight.',
  },
];

/** The breaking article the alert lane sends through the signed webhook. */
export const BREAKING_ARTICLE = {
  language: 'ar' as const,
  title: 'عاجل: انقطاع واسع للكهرباء في العاصمة وفرق الصيانة تعمل على الإصلاح',
  summary:
    'أعلنت شركة الكهرباء أن عطلاً في محطة التحويل الرئيسية تسبب بالانقطاع، وتوقعت عودة التيار خلال ساعات.',
  category: 'سياسة',
};

export interface BenchDb {
  name: string;
  url: string;
  db: Db;
  drop(): Promise<void>;
}

export async function createBenchDatabase(label: string): Promise<BenchDb> {
  const name = `gazette_bench_${label}_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const admin = new pg.Client({ connectionString: withDefaultUser(BASE_DB) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(withDefaultUser(BASE_DB));
  url.pathname = `/${name}`;
  const db = createPool(url.toString(), 4);
  await migrate(db);
  return {
    name,
    url: url.toString(),
    db,
    async drop() {
      await db.end().catch(() => {});
      const c = new pg.Client({ connectionString: withDefaultUser(BASE_DB) });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function readerEmail(i: number): string {
  return `reader-${i}@bench.example`;
}

/**
 * N confirmed readers: language alternates, 12 topic profiles, 3 frequencies, 10 time zones,
 * a quarter with alerts on, most with a name. next_digest_at is a year ahead until makeDue(): left
 * NULL, the worker's scheduler would give the daily and weekly readers their next local 07:00, and
 * a run started near 07:00 in one of the zones (a 1M seed takes minutes) had some of them due, and
 * sent, before the measured instant.
 */
export async function seedReaders(db: Db, n: number): Promise<void> {
  const profiles = `ARRAY[${TOPIC_PROFILES.map((p) => `'{${p.join(',')}}'`).join(',')}]::text[]`;
  const tzs = `ARRAY[${TIMEZONES.map((t) => `'${t}'`).join(',')}]`;
  const names = (list: string[]) => `ARRAY[${list.map((t) => `'${t}'`).join(',')}]`;
  const chunk = 250_000;
  for (let start = 1; start <= n; start += chunk) {
    const end = Math.min(n, start + chunk - 1);
    await db.query(
      `INSERT INTO subscribers (email, email_key, name, status, language, topics, frequency, alerts,
                                timezone, send_hour, confirmed_at, created_at, updated_at, next_digest_at)
       SELECT 'reader-' || g || '@bench.example', 'reader-' || g || '@bench.example',
              nullif(CASE WHEN g % 2 = 0 THEN (${names(AR_NAMES)})[1 + (g / 2) % 10]
                          ELSE (${names(EN_NAMES)})[1 + (g / 2) % 10] END, ''),
              'confirmed',
              CASE WHEN g % 2 = 0 THEN 'ar' ELSE 'en' END,
              (${profiles})[1 + (g / 7) % ${TOPIC_PROFILES.length}]::text[],
              (ARRAY['daily', 'weekly', 'immediate'])[1 + (g / 3) % 3],
              g % 4 = 0,
              (${tzs})[1 + (g / 11) % 10],
              7,
              now() - interval '30 days', now() - interval '30 days', now() - interval '30 days',
              now() + interval '365 days'
       FROM generate_series($1::int, $2::int) AS g`,
      [start, end],
    );
  }
  await db.query('ANALYZE subscribers');
}

/** About 30 published articles, first seen within the last few hours, one topic each. */
export async function seedArticles(db: Db): Promise<string[]> {
  const ids: string[] = [];
  let i = 0;
  for (const a of ARTICLES) {
    i++;
    const at = new Date(Date.now() - (5 + i * 7) * 60_000);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO articles (source, external_id, url, title, summary, body_html, author, categories, topics,
                             language, breaking, status, published_at, modified_at, first_published_at)
       VALUES ('generic', $1, $2, $3, $4, $5, $6, '{}', ARRAY[$7], $8, false, 'published', $9, $9, $9)
       RETURNING id`,
      [
        `bench-${i}`,
        `https://almadar.example/${a.language}/${a.topic}/${i}`,
        a.title,
        a.summary,
        `<p>${a.summary}</p>`,
        a.language === 'ar' ? 'قسم الأخبار' : 'Newsroom',
        a.topic,
        a.language,
        at,
      ],
    );
    ids.push(rows[0]!.id);
  }
  await db.query('ANALYZE articles');
  return ids;
}

export const articleSeeds = ARTICLES;

/**
 * Makes every reader due at one instant, `leadMs` from now (in one UPDATE, so the planner sees
 * all of them or none). Returns the due instant: the later of the target and the commit.
 */
export async function makeDue(db: Db, leadMs: number): Promise<number> {
  const target = Date.now() + leadMs;
  await db.query(`UPDATE subscribers SET next_digest_at = $1 WHERE status = 'confirmed'`, [new Date(target)]);
  const committed = Date.now();
  // What autovacuum's analyze would do shortly after a bulk change: without it the statistics
  // still say every next_digest_at is NULL (the seed's), and the planner's per-tick query for
  // unscheduled readers seq-scans the table instead of using subscribers_unscheduled_idx.
  // Measured from the commit, not from the end of ANALYZE, so its time is not hidden.
  await db.query('ANALYZE subscribers');
  return Math.max(target, committed);
}
