import type { Language } from '../../publication.js';

/** Every word the hosted pages show, per language. {placeholders} are filled by fmt(). */
const en = {
  dir: 'ltr',
  subscribe: {
    title: 'Subscribe to {publication}',
    intro: 'The day’s most important stories, in your inbox. Free.',
    email: 'Email address',
    emailHint: 'We will send a link to confirm it.',
    name: 'Name (optional)',
    topics: 'Topics',
    topicsHint: 'Choose what your digest covers.',
    frequency: 'How often',
    frequencies: { immediate: 'As stories appear', daily: 'Once a day', weekly: 'Once a week' },
    alerts: 'Breaking-news alerts',
    alertsHint: 'A short mail when major news breaks.',
    honeypot: 'Leave this field empty',
    submit: 'Subscribe',
    language: 'Language',
    switchTo: 'العربية',
  },
  checkInbox: {
    title: 'Check your inbox',
    body: 'If the address can receive our newsletter, we have sent a confirmation link to it. Open the mail and confirm to start receiving {publication}.',
    hint: 'Nothing there? Look in your spam or promotions folder. The link is valid for {days}.',
  },
  confirm: {
    title: 'Confirm your subscription',
    body: 'Press the button to confirm that you want to receive {publication} at {email}.',
    button: 'Confirm my subscription',
    done: 'You are subscribed',
    doneBody:
      'Thank you. Your first newsletter is on its way soon. We have sent a welcome mail with a link to your preferences.',
    already: 'Already confirmed',
    alreadyBody: 'This subscription is already confirmed. Nothing more to do.',
    expired: 'This link has expired',
    expiredBody: 'Confirmation links are valid for {days}. Subscribe again and we will send a new one.',
    invalid: 'This link is not valid',
    invalidBody:
      'It may have been replaced by a newer mail, or already used. Subscribe again to get a new link.',
    again: 'Subscribe again',
  },
  preferences: {
    title: 'Your newsletter preferences',
    intro: 'Subscription for {email}.',
    language: 'Newsletter language',
    languages: { ar: 'العربية', en: 'English' },
    timezone: 'Time zone',
    sendHour: 'Delivery time for daily and weekly digests',
    save: 'Save preferences',
    saved: 'Your preferences are saved.',
    unsubscribe: 'Unsubscribe from all mail',
    inactive: 'This address is not subscribed',
    inactiveBody: 'It no longer receives {publication}. To receive it again, subscribe anew.',
  },
  unsubscribe: {
    title: 'Unsubscribe',
    body: 'Press the button to stop receiving {publication} at {email}.',
    button: 'Unsubscribe',
    done: 'You are unsubscribed',
    doneBody:
      'You will receive no more newsletters from {publication}. Changed your mind? You can subscribe again at any time.',
    invalid: 'This link is not valid',
    invalidBody: 'Use the unsubscribe link from one of our newsletters.',
  },
  errors: {
    title: 'Please check the form',
    email: 'Enter one valid email address, for example name@example.com.',
    name: 'The name must be at most 100 characters, without line breaks.',
    topics: 'Choose topics from the list.',
    frequency: 'Choose how often you want the newsletter.',
    alerts: 'The alerts choice is not valid.',
    language: 'Choose Arabic or English.',
    timezone: 'The time zone is not valid.',
    sendHour: 'Choose an hour from 00:00 to 23:00.',
    generic: 'Something in the form is not valid.',
    rateLimited: 'Too many attempts',
    rateLimitedBody: 'Please wait a minute and try again.',
  },
  footer: '{address}',
};

type Strings = typeof en;

const ar: Strings = {
  dir: 'rtl',
  subscribe: {
    title: 'اشترك في {publication}',
    intro: 'أهم أخبار اليوم في بريدك الإلكتروني، مجاناً.',
    email: 'البريد الإلكتروني',
    emailHint: 'سنرسل إليك رابطاً لتأكيده.',
    name: 'الاسم (اختياري)',
    topics: 'المواضيع',
    topicsHint: 'اختر ما تتضمنه نشرتك.',
    frequency: 'عدد مرات الإرسال',
    frequencies: { immediate: 'فور نشر الأخبار', daily: 'مرة في اليوم', weekly: 'مرة في الأسبوع' },
    alerts: 'تنبيهات الأخبار العاجلة',
    alertsHint: 'رسالة قصيرة عند وقوع حدث مهم.',
    honeypot: 'اترك هذا الحقل فارغاً',
    submit: 'اشترك',
    language: 'اللغة',
    switchTo: 'English',
  },
  checkInbox: {
    title: 'تفقّد بريدك الإلكتروني',
    body: 'إذا كان بإمكان هذا العنوان تلقي نشرتنا، فقد أرسلنا إليه رابط تأكيد. افتح الرسالة وأكّد اشتراكك لتبدأ بتلقي {publication}.',
    hint: 'لم تصلك الرسالة؟ تحقّق من مجلد الرسائل غير المرغوب فيها أو العروض. الرابط صالح لمدة {days}.',
  },
  confirm: {
    title: 'أكّد اشتراكك',
    body: 'اضغط الزر لتأكيد رغبتك في تلقي {publication} على العنوان {email}.',
    button: 'تأكيد الاشتراك',
    done: 'تم اشتراكك',
    doneBody: 'شكراً لك. ستصلك أول نشرة قريباً، وقد أرسلنا إليك رسالة ترحيب فيها رابط تفضيلاتك.',
    already: 'الاشتراك مؤكَّد مسبقاً',
    alreadyBody: 'هذا الاشتراك مؤكَّد من قبل، ولا حاجة لأي إجراء آخر.',
    expired: 'انتهت صلاحية هذا الرابط',
    expiredBody: 'روابط التأكيد صالحة لمدة {days}. اشترك من جديد وسنرسل إليك رابطاً جديداً.',
    invalid: 'هذا الرابط غير صالح',
    invalidBody: 'ربما استُبدل برسالة أحدث أو استُخدم من قبل. اشترك من جديد لتحصل على رابط جديد.',
    again: 'اشترك من جديد',
  },
  preferences: {
    title: 'تفضيلات النشرة',
    intro: 'الاشتراك الخاص بالعنوان {email}.',
    language: 'لغة النشرة',
    languages: { ar: 'العربية', en: 'English' },
    timezone: 'المنطقة الزمنية',
    sendHour: 'موعد إرسال النشرة اليومية والأسبوعية',
    save: 'حفظ التفضيلات',
    saved: 'تم حفظ تفضيلاتك.',
    unsubscribe: 'إلغاء الاشتراك في جميع الرسائل',
    inactive: 'هذا العنوان غير مشترك',
    inactiveBody: 'لم يعد هذا العنوان يتلقى {publication}. للاشتراك مجدداً، سجّل من جديد.',
  },
  unsubscribe: {
    title: 'إلغاء الاشتراك',
    body: 'اضغط الزر لإيقاف تلقي {publication} على العنوان {email}.',
    button: 'إلغاء الاشتراك',
    done: 'تم إلغاء اشتراكك',
    doneBody: 'لن تصلك أي نشرة أخرى من {publication}. غيّرت رأيك؟ يمكنك الاشتراك مجدداً في أي وقت.',
    invalid: 'هذا الرابط غير صالح',
    invalidBody: 'استخدم رابط إلغاء الاشتراك الموجود في إحدى نشراتنا.',
  },
  errors: {
    title: 'يرجى مراجعة النموذج',
    email: 'أدخل عنوان بريد إلكتروني واحداً صحيحاً، مثل name@example.com.',
    name: 'يجب ألا يزيد الاسم على ١٠٠ حرف، ومن دون أسطر جديدة.',
    topics: 'اختر المواضيع من القائمة.',
    frequency: 'اختر عدد مرات تلقي النشرة.',
    alerts: 'خيار التنبيهات غير صالح.',
    language: 'اختر العربية أو الإنجليزية.',
    timezone: 'المنطقة الزمنية غير صالحة.',
    sendHour: 'اختر ساعة بين ٠٠:٠٠ و٢٣:٠٠.',
    generic: 'في النموذج قيمة غير صالحة.',
    rateLimited: 'محاولات كثيرة',
    rateLimitedBody: 'يرجى الانتظار دقيقة ثم المحاولة مجدداً.',
  },
  footer: '{address}',
};

const STRINGS: Record<Language, Strings> = { ar, en };

export type PageStrings = Strings;
export type ErrorField = keyof Strings['errors'];

export function pageStrings(language: Language): PageStrings {
  return STRINGS[language];
}

/** Fills {name} placeholders; values must already be escaped when the result is HTML. */
export function fmt(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}
