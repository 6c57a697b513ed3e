<?php
/**
 * The article a post becomes: the fields of the articles file `newsrec train` reads, the same
 * for `PUT /v1/articles/{id}` and for the export, so the live fold-in and a retrain see one
 * text. Pure: takes plain arrays, calls no WordPress function (unit-tested without WordPress).
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds article payloads from post data.
 */
class Newsrec_Payload {

	/**
	 * Tags that separate words (they become a space); any other tag is removed without a trace.
	 * The list of recommender/data.py's strip_html, so both sides make the same text.
	 */
	const BLOCK_TAGS = array(
		'address', 'article', 'aside', 'blockquote', 'br', 'caption', 'dd', 'div', 'dl', 'dt',
		'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header',
		'hr', 'iframe', 'img', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'table',
		'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul',
	);

	/**
	 * Shortcode tags such as [caption id="x"] or [/gallery]: their names and attributes are not
	 * prose; the text between an opening and a closing tag stays (as the WordPress import does).
	 */
	const SHORTCODE_RE = '/\[\/?[A-Za-z][\w-]*(?:\s[^\[\]]*)?\/?\]/u';

	/**
	 * The article of a post.
	 *
	 * @param array $post    Post fields: ID, post_title, post_content, post_excerpt, post_date_gmt,
	 *                       post_date.
	 * @param array $context permalink, categories (list of array(term_id, name)),
	 *                       primary_category (term id or 0), tags (names), author (display name),
	 *                       image_url, language, timezone (a PHP time zone name or offset, for a
	 *                       post without a GMT date).
	 * @return array The fields of the articles file.
	 */
	public static function build( array $post, array $context ) {
		$tags = array();
		foreach ( (array) ( $context['tags'] ?? array() ) as $tag ) {
			$name = self::plain( (string) $tag );
			if ( '' !== $name ) {
				$tags[ $name ] = true;
			}
		}
		$tags = array_keys( $tags );
		sort( $tags, SORT_STRING );
		return array(
			'id'           => (string) $post['ID'],
			'title'        => self::plain( (string) ( $post['post_title'] ?? '' ) ),
			'body'         => self::body( (string) ( $post['post_excerpt'] ?? '' ), (string) ( $post['post_content'] ?? '' ) ),
			'category'     => self::primary_category( (array) ( $context['categories'] ?? array() ), (int) ( $context['primary_category'] ?? 0 ) ),
			'tags'         => $tags,
			'author'       => self::plain( (string) ( $context['author'] ?? '' ) ),
			'published_at' => self::published_at( $post, (string) ( $context['timezone'] ?? 'UTC' ) ),
			'url'          => (string) ( $context['permalink'] ?? '' ),
			'image_url'    => (string) ( $context['image_url'] ?? '' ),
			'status'       => 'published',
			'language'     => (string) ( $context['language'] ?? '' ),
		);
	}

	/**
	 * The body: the excerpt (unless it is just the start of the content), then the content, as
	 * plain text without shortcode tags (recommender/wordpress.py's compose_body).
	 *
	 * @param string $excerpt_html The post's excerpt.
	 * @param string $content_html The post's content.
	 * @return string
	 */
	public static function body( $excerpt_html, $content_html ) {
		$content = self::plain( preg_replace( self::SHORTCODE_RE, ' ', $content_html ) );
		$excerpt = self::plain( preg_replace( self::SHORTCODE_RE, ' ', $excerpt_html ) );
		if ( '' === $excerpt ) {
			return $content;
		}
		$lead = preg_replace( '/\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*$/u', '', $excerpt );
		if ( '' !== $lead && 0 === strpos( $content, $lead ) ) {
			return $content;
		}
		return '' === $content ? $excerpt : $excerpt . ' ' . $content;
	}

	/**
	 * The permalink category: the primary category (Yoast SEO's, when set and still assigned),
	 * else the lowest term id, which is WordPress's own choice for %category%.
	 *
	 * @param array $categories List of array( term_id, name ) or array( 'term_id' => , 'name' => ).
	 * @param int   $primary    Term id of the chosen primary category, 0 for none.
	 * @return string The category's name, '' for none.
	 */
	public static function primary_category( array $categories, $primary ) {
		$found = null;
		foreach ( $categories as $category ) {
			$category = array_values( (array) $category );
			$term_id  = (int) $category[0];
			if ( $primary > 0 && $term_id === $primary ) {
				return self::plain( (string) $category[1] );
			}
			if ( null === $found || $term_id < $found[0] ) {
				$found = array( $term_id, (string) $category[1] );
			}
		}
		return null === $found ? '' : self::plain( $found[1] );
	}

	/**
	 * Publication time in UTC, ISO 8601 with Z; null without a date.
	 *
	 * @param array  $post     Post fields post_date_gmt and post_date.
	 * @param string $timezone The site's time zone, for a post whose GMT date is not set.
	 * @return string|null
	 */
	public static function published_at( array $post, $timezone ) {
		$zero = '0000-00-00 00:00:00';
		$gmt  = (string) ( $post['post_date_gmt'] ?? '' );
		try {
			if ( '' !== $gmt && $zero !== $gmt ) {
				$when = new DateTimeImmutable( $gmt, new DateTimeZone( 'UTC' ) );
			} else {
				$local = (string) ( $post['post_date'] ?? '' );
				if ( '' === $local || $zero === $local ) {
					return null;
				}
				$when = new DateTimeImmutable( $local, new DateTimeZone( '' === $timezone ? 'UTC' : $timezone ) );
			}
		} catch ( Exception $e ) {
			return null;
		}
		return $when->setTimezone( new DateTimeZone( 'UTC' ) )->format( 'Y-m-d\TH:i:s\Z' );
	}

	/**
	 * Plain text of an HTML fragment: tags, comments and declarations removed, the contents of
	 * script, style, template and noscript dropped, block elements separating words, character
	 * references decoded, whitespace collapsed (recommender/data.py's strip_html).
	 *
	 * @param string $html HTML fragment or plain text.
	 * @return string
	 */
	public static function plain( $html ) {
		$attributes = '(?:[^>"\']|"[^"]*"|\'[^\']*\')*';
		$markup     = '/<(script|style|template|noscript)(?=[\s\/>])' . $attributes . '(?<!\/)>.*?(?:<\/\1\s*>|\z)'
			. '|<!--.*?(?:-->|\z)'
			. '|<\/?([a-z][^\s\/>]*)' . $attributes . '>'
			. '|<[!?][^>]*>/isu';
		$text       = preg_replace_callback(
			$markup,
			static function ( $match ) {
				$name = isset( $match[2] ) ? strtolower( $match[2] ) : '';
				return ( '' !== $name && in_array( $name, self::BLOCK_TAGS, true ) ) ? ' ' : '';
			},
			(string) $html
		);
		if ( null === $text ) { // not valid UTF-8: the bytes as they are, without tags.
			$text = strip_tags( (string) $html ); // phpcs:ignore WordPress.WP.AlternativeFunctions.strip_tags_strip_tags -- pure, no WordPress here.
		}
		$text = html_entity_decode( $text, ENT_QUOTES | ENT_HTML5, 'UTF-8' );
		$text = preg_replace( '/[\s\x{00A0}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+/u', ' ', $text );
		return trim( (string) $text );
	}
}
